"""How long the event loop kept work waiting: a probe asks to wake every `PROBE_S` and records
how late it woke. Everything a service does (a consumer's batch, a plan, a WebSocket frame)
waits behind whatever runs on the loop without yielding, so this is the delay added to every
stage in flight at that moment: an ops engineer reads the tail here before any stage's own
figure (issue 20: dispatch's coverage report, 65 ms of one call every 2 s at province scale)."""

import asyncio
import time

from prometheus_client import Histogram

PROBE_S = 0.1

LAG = Histogram(
    "kj_event_loop_lag_seconds",
    f"How late a wake-up asked for every {PROBE_S} s came: the event loop's stalls",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


async def probe(stop: asyncio.Event) -> None:
    """Until `stop` is set."""
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(PROBE_S)
        LAG.observe(max(time.perf_counter() - asked - PROBE_S, 0.0))
