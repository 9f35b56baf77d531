"""A pure object's methods in a spawned child (`kj_runtime.worker_process`, decision 0095):
the answers and errors come back, a child that dies is replaced, and a child whose parent was
killed does not live on (the chaos runs SIGKILL dispatch over and over)."""

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kj_runtime.worker_process import WorkerLost, WorkerProcess

DEADLINE_S = 60.0  # a spawned child imports numpy and the service's modules on a busy machine


class Counter:
    def __init__(self, start: int) -> None:
        self.start = start

    def add(self, n: int, *, times: int = 1) -> int:
        return self.start + n * times

    def pid(self) -> int:
        return os.getpid()

    def fail(self) -> None:
        raise ValueError("no such post")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_answers_and_errors_come_back_from_the_child_and_a_new_object_replaces_it() -> None:
    worker = WorkerProcess(Counter(10))
    try:
        assert await asyncio.wait_for(worker.call("add", 2, times=3), DEADLINE_S) == 16
        assert await worker.call("pid") != os.getpid()
        with pytest.raises(ValueError, match="no such post"):
            await worker.call("fail")
        worker.replace(Counter(100))
        assert await asyncio.wait_for(worker.call("add", 1), DEADLINE_S) == 101
    finally:
        worker.close()


async def test_a_child_killed_mid_call_is_reported_and_the_next_call_gets_a_new_one() -> None:
    worker = WorkerProcess(Counter(0))
    try:
        first = await asyncio.wait_for(worker.call("pid"), DEADLINE_S)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(WorkerLost):
            # the pool notices the death on its next use
            await asyncio.wait_for(worker.call("pid"), DEADLINE_S)
        second = await asyncio.wait_for(worker.call("pid"), DEADLINE_S)
        assert second != first and alive(second)
    finally:
        worker.close()


class Heavy:
    """A target as big as the city's planner is, several times over: its pickle does not fit
    a pipe's buffer, so the spawn's write waits for the child to start and import."""

    def __init__(self) -> None:
        self.posts = os.urandom(2_000_000)

    def size(self) -> int:
        return len(self.posts)


async def test_the_event_loop_keeps_turning_while_the_child_starts() -> None:
    """Dispatch's loop must keep heartbeating its consumer groups while the planner's process
    starts: blocked in the spawn, it lost its region in the chaos run."""
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    ticker = asyncio.create_task(tick())
    worker = WorkerProcess(Heavy())
    try:
        began = time.monotonic()
        assert await asyncio.wait_for(worker.call("size"), DEADLINE_S) == 2_000_000
        took = time.monotonic() - began
    finally:
        ticker.cancel()
        worker.close()
    during = [t for t in ticks if t >= began]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    assert gaps and max(gaps) < took / 2, f"the loop stood still {max(gaps):.2f} s of {took:.2f} s"


PARENT = """
import asyncio, sys, time
sys.path.insert(0, {root!r})
from kj_runtime.worker_process import WorkerProcess
from tests.integration.runtime.test_worker_process import Counter

async def main():
    worker = WorkerProcess(Counter(0))
    print(await worker.call("pid"), flush=True)
    await asyncio.sleep(3600)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_child_whose_parent_is_killed_exits(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT.format(root=str(Path(__file__).parents[3])))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10.0
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child), "the planner's process outlived the killed service"
    finally:
        parent.kill()
