"""The cyclic garbage collector, tuned for a long-lived service that answers in milliseconds
(decision 0012).

What a service loads at start (modules, settings, the city's zones, pydantic schemas) lives
as long as the process. Left to the collector, every full pass walks it all again: about
50 ms with the alarm service's 90,000 start-up objects, a stall of every request in flight.
`settle()` moves it out of the collector's way (`gc.freeze`) and collects the young
generation less often: a request's objects are freed by reference counting at once, so the
default threshold (700 container allocations) mostly ran collections that found nothing.

`PAUSE` shows what remains: each collection's time, by generation."""

import gc
import time
from typing import Any

from prometheus_client import Histogram

# allocations (net of frees) of container objects between two young-generation collections
YOUNG_THRESHOLD = 10_000

PAUSE = Histogram(
    "kj_gc_pause_seconds",
    "Time of each cyclic garbage collection, by generation (0 young, 2 full)",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)


class _PauseTimer:
    def __init__(self) -> None:
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            PAUSE.labels(str(info["generation"])).observe(time.perf_counter() - self.started)


_timer = _PauseTimer()


def settle() -> None:
    """Call once the service is built, before it serves: collect what start-up left, freeze
    the rest, raise the young generation's threshold and time every collection from now."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    if _timer not in gc.callbacks:
        gc.callbacks.append(_timer)
