"""The four services and the command-centre console as processes: started with their console
entry points, waited for on /readyz with a deadline, stopped with SIGTERM (`make run` and
`make demo`). Each listens where its
settings say (`KJ_ALARM_HTTP_PORT`, ...): the environment is passed on as it is."""

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Service:
    name: str
    command: str
    default_port: int  # the settings model's default (a test keeps them equal)
    env_prefix: str

    @property
    def port(self) -> int:
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
# the people's screen on top of the four (issue 17)
CONSOLE = Service("console", "kj-console", 8050, "KJ_CONSOLE_")
EVERYTHING = (*SERVICES, CONSOLE)


class ServiceProcesses:
    def __init__(self, log_dir: Path, *, to_terminal: bool = False) -> None:
        self.log_dir = log_dir
        self.to_terminal = to_terminal
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @staticmethod
    def environment(extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """What every service starts with: this environment as it is (its ports included),
        plus the run's own additions."""
        return {**os.environ, **(extra_env or {})}

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        if not self.to_terminal:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self.environment(extra_env)
        for service in EVERYTHING:
            log_file = self.log_dir / f"{service.name}.log"
            output = None if self.to_terminal else log_file.open("wb")  # this run's logs only
            self.processes[service.name] = subprocess.Popen(  # noqa: S603 - our own entry points
                [service.command], env=env, stdout=output, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, deadline_s: float = 90) -> None:
        give_up = time.monotonic() + deadline_s
        pending = {service.name: service for service in EVERYTHING}
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
                await asyncio.sleep(0.5)

    def stop(self, timeout_s: float = 20) -> dict[str, int | None]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
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
        print("ready: " + ", ".join(f"{s.name} {s.url}" for s in EVERYTHING), flush=True)
        await stop.wait()
    finally:
        print(f"stopped: {processes.stop()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_run_alone()))
