"""The faults, each as a supervisor would see it happen: SIGKILL and an immediate restart
(the broker and PostgreSQL through their scripts, a service as a new process), or SIGSTOP of
the dispatch replica that holds the alarms, past its consumer session timeout, then SIGCONT.
A killed dispatch replica stays down for a while (its node is gone), so that the other one has
to carry on alone: restarted at once, it would recover its own state at start-up and hide
whether the survivor can."""

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx
import structlog

from kj_sim.chaos.ledger import Exit, Fault
from kj_sim.chaos.stack import DISPATCH_REPLICAS, ChaosStack

log = structlog.get_logger(__name__)

ALARMS_CONSUMED = 'kj_consumed_records_total{group="dispatch",topic="alarms.accepted"}'


def _consumed(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(ALARMS_CONSUMED):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def alarm_holder(stack: ChaosStack, *, watch_s: float = 6.0) -> str:
    """The dispatch replica that consumes `alarms.accepted` now: the one whose count of
    alarms consumed grows while the load runs (the one with more, if neither grows)."""
    processes = stack.services

    async def counts(client: httpx.AsyncClient) -> dict[str, float]:
        found = {}
        for name in DISPATCH_REPLICAS:
            if not processes.alive(name):
                continue
            try:
                response = await client.get(f"{processes.services[name].url}/metrics")
                found[name] = _consumed(response.text)
            except httpx.HTTPError:
                continue
        return found

    async with httpx.AsyncClient(timeout=2) as client:
        first = await counts(client)
        give_up = time.monotonic() + watch_s
        latest = first
        while time.monotonic() < give_up:
            await asyncio.sleep(1.0)
            latest = await counts(client)
            grown = [n for n in latest if latest[n] > first.get(n, 0.0)]
            if len(grown) == 1:
                return grown[0]
    if latest:
        return max(latest, key=lambda n: latest[n])
    return DISPATCH_REPLICAS[0]


class FaultRunner:
    def __init__(
        self, stack: ChaosStack, *, pause_s: float, dispatch_down_s: float, held: set[str]
    ) -> None:
        self.stack = stack
        self.pause_s = pause_s
        self.dispatch_down_s = dispatch_down_s
        self.held = held  # killed and kept down: the supervisor leaves them alone
        self._restarts: set[asyncio.Task[None]] = set()

    async def inject(self, spec: str) -> Fault:
        """Run one fault; returns once the restart is under way (kills) or the paused process
        runs again (pause). Readiness after a restart is recorded in the background."""
        kind, target = spec.split(":", 1)
        if target == "dispatch":
            target = await alarm_holder(self.stack)
        if kind == "pause":
            return await self._pause(target)
        if target == "broker":
            return await self._kill_infra(target, self.stack.kill_broker)
        if target == "postgres":
            return await self._kill_infra(target, self.stack.kill_postgres)
        return self._kill_service(target)

    async def _kill_infra(self, target: str, kill: Callable[[], Awaitable[int]]) -> Fault:
        at = time.time()
        pid = await kill()
        fault = Fault("kill", target, at, restarted_at=time.time(), detail=f"pid {pid}")
        log.info("fault", kind="kill", target=target, pid=pid)
        self._background(self._restart_infra(fault))
        return fault

    async def _restart_infra(self, fault: Fault) -> None:
        rc = await self.stack.script(fault.target, "start")
        if rc == 0:
            fault.ready_at = time.time()
        else:
            fault.detail += f"; restart failed ({rc})"

    def _kill_service(self, target: str) -> Fault:
        processes = self.stack.services
        pid = processes.processes[target].pid
        down_s = self.dispatch_down_s if target in DISPATCH_REPLICAS else 0.0
        at = time.time()
        processes.signal(target, signal.SIGKILL)
        processes.processes[target].wait(timeout=10)  # SIGKILL: gone within milliseconds
        fault = Fault("kill", target, at, detail=f"pid {pid}")
        if down_s > 0:
            self.held.add(target)
            fault.detail += f"; down {down_s:.0f} s"
            self._background(self._restart_later(fault, down_s))
        else:
            processes.start_one(target)  # before the supervisor could see it gone
            fault.restarted_at = time.time()
            self._background(self._ready(fault))
        log.info("fault", kind="kill", target=target, pid=pid)
        return fault

    async def _restart_later(self, fault: Fault, down_s: float) -> None:
        await asyncio.sleep(down_s)
        self.stack.services.start_one(fault.target)
        fault.restarted_at = time.time()
        self.held.discard(fault.target)
        await self._ready(fault)

    async def _ready(self, fault: Fault, *, deadline_s: float = 180) -> None:
        """When the restarted service answers /readyz (it may exit and be started again by
        the supervisor meanwhile)."""
        give_up = time.monotonic() + deadline_s
        while time.monotonic() < give_up:
            try:
                await self.stack.services.wait_ready(
                    give_up - time.monotonic(), names=[fault.target]
                )
            except RuntimeError:  # it exited: the supervisor starts it again
                await asyncio.sleep(1.0)
                continue
            except TimeoutError:
                break
            fault.ready_at = time.time()
            return
        fault.detail += f"; not ready within {deadline_s:.0f} s"

    async def _pause(self, target: str) -> Fault:
        processes = self.stack.services
        at = time.time()
        processes.signal(target, signal.SIGSTOP)
        log.info("fault", kind="pause", target=target, seconds=self.pause_s)
        await asyncio.sleep(self.pause_s)
        processes.signal(target, signal.SIGCONT)
        fault = Fault("pause", target, at, restarted_at=time.time(), detail=f"{self.pause_s:.0f} s")
        self._background(self._ready(fault))
        return fault

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def settle(self, timeout_s: float = 150) -> None:
        """Wait for the restarts still under way."""
        if self._restarts:
            await asyncio.wait(list(self._restarts), timeout=timeout_s)


class Supervisor:
    """What Kubernetes does for a container that ends by itself: start it again after a
    backoff (1 s, doubling to 10 s; back to 1 s once it ran for 30 s). A fault's own kill and
    restart happen between two looks of this loop, so it sees only processes that ended by
    themselves, and records each."""

    def __init__(self, stack: ChaosStack, exits: list[Exit], held: set[str]) -> None:
        self.processes = stack.services
        self.exits = exits
        self.held = held
        self._backoff: dict[str, float] = {}
        self._started: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        due: dict[str, tuple[float, Exit]] = {}
        while not stop.is_set():
            now = time.time()
            for name, process in self.processes.processes.items():
                if name in due or name in self.held or process.poll() is None:
                    continue
                ran = now - self._started.get(name, 0.0)
                delay = 1.0 if ran > 30 else self._backoff.get(name, 1.0)
                self._backoff[name] = min(delay * 2, 10.0)
                exit_ = Exit(name, now, process.returncode)
                self.exits.append(exit_)
                log.warning("service_exited", service=name, code=process.returncode)
                due[name] = (now + delay, exit_)
            for name, (at, exit_) in list(due.items()):
                if time.time() >= at:
                    self.processes.start_one(name)
                    self._started[name] = exit_.restarted_at = time.time()
                    del due[name]
            await asyncio.sleep(0.5)
