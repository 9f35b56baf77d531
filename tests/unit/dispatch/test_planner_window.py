"""The planner's batch window (decisions 0030, 0167): a call that comes alone is planned at
once; after a pass that decided several calls (a burst) the next waits for company."""

import asyncio
import time
from typing import Any, cast

from kj_dispatch.entrypoints.loops import run_planner

WINDOW_S = 30.0  # far beyond every wait below: a pass that waited cannot pass unnoticed


class Planner:
    """What the loop reads of the dispatcher: its wake-up, what waits, the window's start."""

    def __init__(self) -> None:
        self.fleet_ready = asyncio.Event()
        self.fleet_ready.set()
        self.wake = asyncio.Event()
        self.waiting = False
        self.batch_opened_at: float | None = None
        self.last_batch_calls = 0
        self.passes = asyncio.Queue[int]()

    def arrive(self, calls: int) -> None:
        self.waiting = True
        self.batch_opened_at = time.monotonic()
        self._calls = calls
        self.wake.set()

    async def plan_once(self) -> None:
        self.last_batch_calls = self._calls
        self.waiting = False
        self.batch_opened_at = None
        await self.passes.put(self._calls)


async def test_a_lone_call_is_planned_at_once_and_a_burst_s_next_waits() -> None:
    planner, stop = Planner(), asyncio.Event()
    loop = asyncio.create_task(
        run_planner(cast(Any, planner), stop, window_s=WINDOW_S, retry_s=3600)
    )
    try:
        planner.arrive(1)
        async with asyncio.timeout(5):
            assert await planner.passes.get() == 1  # alone: no window
        planner.arrive(3)
        async with asyncio.timeout(5):
            assert await planner.passes.get() == 3  # the last pass was alone: no window either
        planner.arrive(1)
        await asyncio.sleep(1.0)  # the window is 30 s: the pass must not have come
        assert planner.passes.empty()
    finally:
        stop.set()
        await loop
