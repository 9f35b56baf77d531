"""The four services, the device gateway and the command-centre console as processes: started
with their console entry points, waited for on /readyz with a deadline, stopped with SIGTERM
(`make run` and `make demo`). Each listens where its settings say (`KJ_ALARM_HTTP_PORT`, ...):
the environment is passed on as it is. The chaos suite runs a set of its own (two dispatch
replicas, pinned ports) and kills, pauses and restarts them one by one, each in its own process
group."""

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nothing listens on now, for a service, a proxy or a test server started
    next (the kernel picks it; another process could take it before it is bound again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Service:
    name: str
    command: str
    default_port: int  # the settings model's default (a test keeps them equal)
    env_prefix: str
    env: tuple[tuple[str, str], ...] = field(default=())  # this process's own settings
    pinned: bool = False  # listens on `default_port` whatever the environment says (chaos)

    @property
    def port(self) -> int:
        if self.pinned:
            return self.default_port
        return int(os.environ.get(f"{self.env_prefix}HTTP_PORT") or self.default_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES = (
    Service("alarm", "kj-alarm", 8010, "KJ_ALARM_"),
    Service("patrol-tracking", "kj-patrol-tracking", 8020, "KJ_TRACKING_"),
    Service("dispatch", "kj-dispatch", 8030, "KJ_DISPATCH_"),
    Service("notify", "kj-notify", 8040, "KJ_NOTIFY_"),
)
DEVICES = Service("devices", "kj-devices", 8050, "KJ_DEVICES_")
# the people's screen on top of the four (issue 17)
CONSOLE = Service("console", "kj-console", 8060, "KJ_CONSOLE_")
STARTED = (*SERVICES, DEVICES, CONSOLE)


class ServiceProcesses:
    def __init__(
        self,
        log_dir: Path,
        *,
        to_terminal: bool = False,
        services: Sequence[Service] = STARTED,
        own_groups: bool = False,
    ) -> None:
        """`own_groups`: each process leads a process group of its own, so a signal reaches
        whatever it started and never the caller's group."""
        self.log_dir = log_dir
        self.to_terminal = to_terminal
        self.services = {service.name: service for service in services}
        self.own_groups = own_groups
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._extra_env: dict[str, str] = {}

    @staticmethod
    def environment(extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """What every service starts with: this environment as it is (its ports included),
        plus the run's own additions."""
        return {**os.environ, **(extra_env or {})}

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        if not self.to_terminal:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        self._extra_env = dict(extra_env or {})
        for name in self.services:
            self.start_one(name)

    def start_one(self, name: str) -> subprocess.Popen[bytes]:
        """Start (or start again, after it died) one process; its log file is appended to."""
        service = self.services[name]
        env = {
            **self.environment(self._extra_env),
            f"{service.env_prefix}HTTP_PORT": str(service.port),
            **dict(service.env),
        }
        log_file = self.log_dir / f"{service.name}.log"
        first = name not in self.processes
        output = None if self.to_terminal else log_file.open("wb" if first else "ab")
        try:
            process = subprocess.Popen(  # noqa: S603 - our own entry points
                [service.command],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=self.own_groups,
            )
        finally:
            if output is not None:
                output.close()  # the child holds its own descriptor
        self.processes[name] = process
        return process

    def signal(self, name: str, signum: signal.Signals) -> None:
        """Send `signum` to the process (to its whole group when it has one of its own)."""
        process = self.processes[name]
        if process.poll() is not None:
            return
        if self.own_groups:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)

    def alive(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    async def wait_ready(self, deadline_s: float = 90, names: Iterable[str] | None = None) -> None:
        give_up = time.monotonic() + deadline_s
        pending = {name: self.services[name] for name in (names or self.services)}
        async with httpx.AsyncClient(timeout=2) as client:
            while pending:
                for name, service in list(pending.items()):
                    process = self.processes[name]
                    if process.poll() is not None:
                        log_file = self.log_dir / f"{name}.log"
                        raise RuntimeError(
                            f"{name} exited with {process.returncode}; see {log_file}"
                        )
                    try:
                        if (await client.get(f"{service.url}/readyz")).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > give_up:
                    raise TimeoutError(
                        f"not ready after {deadline_s:.0f}s: {', '.join(pending)}; "
                        f"see the logs in {self.log_dir}"
                    )
                if pending:
                    await asyncio.sleep(0.5)

    def stop(self, timeout_s: float = 20) -> dict[str, int | None]:
        for name in self.processes:
            if self.alive(name):
                if self.own_groups:  # a paused process must be resumed to hear SIGTERM
                    self.signal(name, signal.SIGCONT)
                self.signal(name, signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.signal(name, signal.SIGKILL)
                codes[name] = process.wait()
        return codes


async def _run_alone() -> int:
    """`make run`: the services with their logs on this terminal, until Ctrl-C."""
    from kj_runtime.lifecycle import stop_on_signals
    from kj_runtime.settings import state_dir

    processes = ServiceProcesses(state_dir() / "run", to_terminal=True)  # logs: this terminal
    processes.start()
    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        await processes.wait_ready()
        print("ready: " + ", ".join(f"{s.name} {s.url}" for s in STARTED), flush=True)
        await stop.wait()
    finally:
        print(f"stopped: {processes.stop()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_run_alone()))
