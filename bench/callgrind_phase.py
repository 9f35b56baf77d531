"""One phase of a tree's own tracking bench, for `bench.bench_instructions` to count under
callgrind. Run with the counted tree's Python and that tree first on `PYTHONPATH`, so that
`bench.bench_tracking` is that tree's: the bench of an older commit works too, its harness as it
was, its service settled after the build as its `main` settles it.

    python bench/callgrind_phase.py setup RUN LABEL    # LABEL "database": the run's database
    python bench/callgrind_phase.py service RUN LABEL  # the bench's service_rate on LABEL's pings
    python bench/callgrind_phase.py bare RUN LABEL     # the bench's bare decode-only loop on them

`BENCH_UNITS` and `BENCH_PINGS_PER_UNIT` size the pings, as the bench reads them. Work that
grows with wall time, not with pings, is slowed down as callgrind slows the code (about 50
times), or it would be counted as the pings' (decision 0187): the event loop's clock, idle
fetches, heartbeats, the sweep, the bench's polls of its counter, and OpenBLAS's spinning
workers (one thread, set by the caller). `KJ_CALLGRIND_SLOWDOWN` (default 50; 1 leaves the
event loop's clock alone) sets the clock's factor."""

import asyncio
import os
import sys
import time
import types
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer

import bench.bench_tracking as tracked  # the counted tree's bench (PYTHONPATH)
from kj_runtime import heap
from kj_runtime.db import connect
from kj_runtime.kafka import create_topics
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.topics import (
    DEADLETTERS,
    DISPATCH_WORKORDERS,
    PATROL_PINGS,
    UNITS_STATE,
    WORKORDERS_EVENTS,
)

SWEEP_INTERVAL_S = 3600.0
POLL_S = 0.5  # instead of the bench's 10 ms
SLOWDOWN = float(os.environ.get("KJ_CALLGRIND_SLOWDOWN", "50"))


def database(run: str) -> PostgresSettings:
    return PostgresSettings(database=f"kj_bench_instructions_{run}")


def topics(run: str, label: str) -> KafkaSettings:
    return KafkaSettings(topic_prefix=f"bench-instructions-{run}-{label}.")


def _slow_down_the_clocks() -> None:
    settings_class = tracked.TrackingSettings

    def settings(**values: Any) -> Any:
        if "sweep_interval_s" in values:
            values["sweep_interval_s"] = SWEEP_INTERVAL_S
        return settings_class(**values)

    class _Asyncio(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

    async def sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.sleep(POLL_S if seconds == 0.01 else seconds, *args, **kwargs)

    shim = _Asyncio("asyncio")
    shim.sleep = sleep  # type: ignore[attr-defined]
    tracked.TrackingSettings = settings  # type: ignore[misc,assignment]
    tracked.asyncio = shim


def _slow_event_loop() -> None:
    """Every timer of the event loop (sleeps, timeouts, periodic loops, heartbeats) runs
    SLOWDOWN times slower, as callgrind runs the code: otherwise a service's periodic work
    (relay polls, gauges, heartbeats) is counted about 50 times over per ping, and it moved a
    commit's count by 1.5% between runs as the machine's load stretched the wall time."""
    asyncio.BaseEventLoop.time = lambda self: time.monotonic() / SLOWDOWN  # type: ignore[method-assign]


def _patient_consumers() -> None:
    """Under callgrind a consumer's heartbeat can starve past the broker's 10 s session, and
    the group's rejoin would be counted as the pings' work (one run failed on it): every
    consumer of this process gets a 10-minute session (its heartbeats, on the slowed clock,
    come SLOWDOWN times apart), 30 minutes between polls, and idle fetches that wait 10 s."""
    start = AIOKafkaConsumer.__init__

    def patient(self: AIOKafkaConsumer, *topics: str, **options: Any) -> None:
        options["session_timeout_ms"] = 600_000  # heartbeats come SLOWDOWN times apart
        options["heartbeat_interval_ms"] = 3_000
        options["max_poll_interval_ms"] = 1_800_000
        options["fetch_max_wait_ms"] = max(options.get("fetch_max_wait_ms", 500), 10_000)
        start(self, *topics, **options)

    AIOKafkaConsumer.__init__ = patient


def _settled_after_build() -> None:
    """An older bench built the service without settling its collector, which the service's
    `main` does: settle it after the build, as production runs it (today's bench does so)."""
    name = "build" if hasattr(tracked, "build") else "bootstrap"  # as the tree named it
    build: Callable[..., Awaitable[Any]] = getattr(tracked, name)

    async def settled(*args: Any, **kwargs: Any) -> Any:
        service = await build(*args, **kwargs)
        heap.settle()
        return service

    setattr(tracked, name, settled)


async def phase(mode: str, run: str, label: str) -> None:
    if mode == "setup" and label == "database":
        await tracked.fresh_database(database(run))
        connection = await connect(database(run))
        try:
            await tracked.ensure_partitions(connection, datetime.now(UTC).date())
        finally:
            await connection.close()
    elif mode == "setup":
        kafka = topics(run, label)
        specs = (PATROL_PINGS, UNITS_STATE, DISPATCH_WORKORDERS, WORKORDERS_EVENTS, DEADLETTERS)
        await create_topics(kafka, specs)
        city = tracked.bench_city()
        await tracked.produce(kafka, tracked.pings(city, time.time() - tracked.PINGS_PER_UNIT - 5))
    elif mode in ("service", "bare"):
        _slow_down_the_clocks()
        _patient_consumers()
        if SLOWDOWN > 1:
            _slow_event_loop()
        heap.settle()  # as the bench settles its own process before its runs
        kafka = topics(run, label)
        try:
            if mode == "bare":
                await tracked.bare_rate(kafka)
            else:
                if not hasattr(tracked, "heap"):
                    _settled_after_build()
                await tracked.service_rate(kafka, database(run), tracked.bench_city())
        except ZeroDivisionError:  # all the pings came in the first batch: counted all the same
            pass
    else:
        raise SystemExit(f"unknown phase {mode!r}: setup, service or bare")


if __name__ == "__main__":
    asyncio.run(phase(*sys.argv[1:4]))
