"""Every service's event-loop stalls are on /metrics: a handler that holds the loop shows as
a late wake-up of the probe, the delay every stage in flight paid."""

import asyncio
import time

from prometheus_client import REGISTRY

from kj_runtime import loop_lag


def observed(up_to: str | None = None) -> float:
    if up_to is None:
        return REGISTRY.get_sample_value("kj_event_loop_lag_seconds_count") or 0.0
    sample = REGISTRY.get_sample_value("kj_event_loop_lag_seconds_bucket", {"le": up_to})
    return sample or 0.0


async def test_a_handler_that_holds_the_loop_shows_as_a_stall() -> None:
    stop = asyncio.Event()
    probe = asyncio.create_task(loop_lag.probe(stop))
    await asyncio.sleep(0)  # the probe asks for its wake-up
    stalls_before = observed() - observed("0.25")
    time.sleep(0.4)  # noqa: ASYNC251 - the stall under test: work that does not yield
    count = observed()
    async with asyncio.timeout(5):
        while observed() == count:
            await asyncio.sleep(0.01)
    stop.set()
    await probe
    assert observed() - observed("0.25") == stalls_before + 1  # one wake-up over 0.25 s late
