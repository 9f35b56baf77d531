"""The chaos run's own stack: a broker and a PostgreSQL of its own (other ports, another state
folder, started and restarted only through infra/kafka/kafka.sh and infra/postgres/postgres.sh)
and the services as processes, each in its own process group, two dispatch replicas among
them. It kills only what it started: every pid is checked against its own state folder first,
so the shared broker and database on the default ports are never touched."""

import asyncio
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings
from kj_sim.services import Service, ServiceProcesses

INFRA = {
    "broker": REPO_ROOT / "infra/kafka/kafka.sh",
    "postgres": REPO_ROOT / "infra/postgres/postgres.sh",
}


@dataclass(frozen=True)
class ChaosPorts:
    """Never the defaults (19092/19093, 15432, 8010-8040) that `make up` and demos use."""

    kafka: int = 29092
    kafka_controller: int = 29093
    postgres: int = 25432
    http_base: int = 28010  # alarm, tracking +10, dispatch-a +20, dispatch-b +21, notify +30

    def all(self) -> list[int]:
        base = self.http_base
        return [
            self.kafka,
            self.kafka_controller,
            self.postgres,
            *(base + d for d in (0, 10, 20, 21, 30)),
        ]


def chaos_services(ports: ChaosPorts) -> tuple[Service, ...]:
    """The stack's processes, joining their consumer groups as dynamic members: static
    membership is withdrawn until dispatch's region lease follows it (decision 0100)."""
    base = ports.http_base

    def named(name: str, *env: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return env

    return (
        Service("alarm", "kj-alarm", base, "KJ_ALARM_", env=named("alarm"), pinned=True),
        Service(
            "patrol-tracking",
            "kj-patrol-tracking",
            base + 10,
            "KJ_TRACKING_",
            env=named("patrol-tracking"),
            pinned=True,
        ),
        # two replicas in one group, each its own lease owner and event group (decision 0032)
        Service(
            "dispatch-a",
            "kj-dispatch",
            base + 20,
            "KJ_DISPATCH_",
            env=named("dispatch-a", ("KJ_DISPATCH_INSTANCE", "dispatch-a")),
            pinned=True,
        ),
        Service(
            "dispatch-b",
            "kj-dispatch",
            base + 21,
            "KJ_DISPATCH_",
            env=named("dispatch-b", ("KJ_DISPATCH_INSTANCE", "dispatch-b")),
            pinned=True,
        ),
        Service("notify", "kj-notify", base + 30, "KJ_NOTIFY_", env=named("notify"), pinned=True),
    )


DISPATCH_REPLICAS = ("dispatch-a", "dispatch-b")


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _exists(pid: int) -> bool:
    """Still in the process table (a zombie too: PostgreSQL refuses to start while the pid in
    its lock file exists at all)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChaosStack:
    def __init__(self, state_dir: Path, run_dir: Path, ports: ChaosPorts, dev_secret: str) -> None:
        self.state_dir = state_dir.resolve()
        self.run_dir = run_dir
        self.ports = ports
        self.kafka = KafkaSettings(
            host="127.0.0.1", port=ports.kafka, bootstrap_servers=None, topic_prefix=""
        )
        self.postgres = PostgresSettings(
            host="127.0.0.1",
            port=ports.postgres,
            user="postgres",
            password=None,
            database="kuaijing",
        )
        self.env = {
            "KJ_STATE_DIR": str(self.state_dir),
            "KJ_KAFKA_HOST": "127.0.0.1",
            "KJ_KAFKA_PORT": str(ports.kafka),
            "KJ_KAFKA_CONTROLLER_PORT": str(ports.kafka_controller),
            "KJ_KAFKA_BOOTSTRAP_SERVERS": "",
            "KJ_KAFKA_TOPIC_PREFIX": "",
            "KJ_PG_HOST": "127.0.0.1",
            "KJ_PG_PORT": str(ports.postgres),
            "KJ_PG_DATABASE": "kuaijing",
            "KJ_PG_USER": "postgres",
            "KJ_NOTIFY_DEV_TOKEN_SECRET": dev_secret,
        }
        self.services = ServiceProcesses(
            run_dir / "logs", services=chaos_services(ports), own_groups=True
        )
        self._lock: IO[str] | None = None

    # ---- the run's folder and ports --------------------------------------------------------

    def claim(self) -> None:
        """One chaos run per state folder at a time."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.state_dir / ".chaos.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise RuntimeError(f"another chaos run holds {self.state_dir}/.chaos.lock") from None
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def check_ports(self) -> None:
        taken = [port for port in self.ports.all() if _port_taken(port)]
        if taken:
            raise RuntimeError(
                f"ports {taken} are in use: another chaos run, or something else; the chaos "
                "stack needs its own (see kj_sim.chaos.stack.ChaosPorts)"
            )

    def _seed_kafka_jars(self) -> None:
        """Copy the broker's jars from the usual state folder when they match infra/kafka/pom.xml
        (kafka.sh would otherwise fetch them from Maven Central once more)."""
        target = self.state_dir / "kafka" / "libs"
        source = Path(os.environ.get("KJ_STATE_DIR") or REPO_ROOT / ".local") / "kafka" / "libs"
        if target.exists() or not source.exists() or source.resolve() == target.resolve():
            return
        want = hashlib.sha256((REPO_ROOT / "infra/kafka/pom.xml").read_bytes()).hexdigest()
        have = (
            (source / ".pom.sha256").read_text().strip()
            if (source / ".pom.sha256").exists()
            else ""
        )
        if want == have:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, target)

    # ---- infrastructure, through the project's scripts --------------------------------------

    async def script(self, name: str, action: str, *, timeout_s: float = 150) -> int:
        """`kafka.sh <action>` / `postgres.sh <action>` with the chaos ports and folder."""
        log = self.infra_log(name).open("ab")
        try:
            log.write(f"\n== {time.strftime('%H:%M:%S')} {name} {action}\n".encode())
            log.flush()
            process = await asyncio.create_subprocess_exec(
                "bash",
                str(INFRA[name]),
                action,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
            try:
                return await asyncio.wait_for(process.wait(), timeout_s)
            except TimeoutError:
                process.kill()
                await process.wait()
                return -1
        finally:
            log.close()

    def infra_log(self, name: str) -> Path:
        """What `kafka.sh` / `postgres.sh` said, each in its own file (they run side by side)."""
        return self.run_dir / "logs" / f"infra-{name}.log"

    async def start_infra(self) -> None:
        """A clean broker and database for this run (the data of the last run is erased), the
        two at once: neither waits for the other."""
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        await asyncio.gather(*(self.script(name, "clean") for name in INFRA))
        self.check_ports()
        self._seed_kafka_jars()
        codes = await asyncio.gather(*(self.script(name, "start") for name in INFRA))
        for name, code in zip(INFRA, codes, strict=True):
            if code != 0:
                raise RuntimeError(f"{name} did not start; see {self.infra_log(name)}")

    def broker_pid(self) -> int | None:
        pid_file = self.state_dir / "kafka" / "kafka.pid"
        if not pid_file.exists():
            return None
        pid = int(pid_file.read_text().strip())
        expected = str(self.state_dir / "kafka" / "server.properties")
        return pid if expected in _cmdline(pid) else None

    def postmaster_pid(self) -> int | None:
        data = self.state_dir / "postgres" / "data"
        pid_file = data / "postmaster.pid"
        if not pid_file.exists():
            return None
        pid = int(pid_file.read_text().splitlines()[0])
        return pid if str(data) in _cmdline(pid) else None

    async def kill_broker(self) -> int:
        pid = self.broker_pid()
        if pid is None:
            raise RuntimeError("no chaos broker to kill")
        os.kill(pid, signal.SIGKILL)
        return pid

    async def kill_postgres(self) -> int:
        """SIGKILL the postmaster and every process it started, as a crash of the whole
        server would; returns once they are gone, so that a restart finds no one attached."""
        pid = self.postmaster_pid()
        if pid is None:
            raise RuntimeError("no chaos PostgreSQL to kill")
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        for _ in range(600):  # up to 30 s
            if not any(_exists(v) for v in victims):
                break
            await asyncio.sleep(0.05)
        return pid

    # ---- services -----------------------------------------------------------------------

    def start_services(self) -> None:
        self.services.start(self.env)

    async def stop(self) -> dict[str, int | None]:
        """Services first (SIGTERM, then SIGKILL of their groups), then the infrastructure."""
        codes = await asyncio.to_thread(self.services.stop, 15)
        for name in INFRA:
            await self.script(name, "stop")
        return codes
