"""The dispatcher's own loops: the planner (batch window), the acceptance-timeout timer and
the coverage report. Each watches the stop event and survives a database hiccup."""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

import asyncpg
import structlog

from kj_dispatch.service_layer.commands import refresh_duty
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.service_layer.positioning import Positioning
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.lifecycle import sleep_or_stop, wait_any
from kj_runtime.worker_process import WorkerLost

log = structlog.get_logger(__name__)
# a database that is unreachable or refuses (a deadlock, a serialization failure) now: the
# loop tries again; anything else is a bug and ends the loop, which ends the service
_DB_ERRORS = (*UNAVAILABLE, asyncpg.PostgresError)


async def run_planner(
    dispatcher: Dispatcher, stop: asyncio.Event, *, window_s: float, retry_s: float
) -> None:
    """Alarms that arrive while a batch is decided, plus a short window, are decided together;
    queued alarms are retried when a unit frees up, and every `retry_s` anyway. The window
    opens only after a pass that decided several calls (a burst): a call that comes alone is
    planned at once (decision 0167)."""
    await wait_any(dispatcher.fleet_ready, stop, 3600)
    while not stop.is_set():
        await wait_any(dispatcher.wake, stop, retry_s)
        if stop.is_set():
            break
        if not dispatcher.waiting:
            dispatcher.wake.clear()
            continue
        if window_s > 0 and dispatcher.wake.is_set() and dispatcher.last_batch_calls > 1:
            # the window runs from the first waiting alarm's arrival, not from this wake-up
            opened = dispatcher.batch_opened_at
            left = window_s if opened is None else window_s - (time.monotonic() - opened)
            if left > 0:
                await sleep_or_stop(stop, left)
        dispatcher.wake.clear()
        try:
            await dispatcher.plan_once()
        except _DB_ERRORS as error:
            log.warning("plan_failed_will_retry", error=repr(error))
            dispatcher.wake.set()
            await sleep_or_stop(stop, 0.5)


async def run_index_builds(dispatcher: Dispatcher, stop: asyncio.Event) -> None:
    """The candidate index, built off the plan's path every rebuild interval while units move
    (decision 0167). An interval of 0 (tests) leaves every plan to build it itself."""
    interval_s = dispatcher.fleet.index.rebuild_interval_s
    if interval_s <= 0:
        await stop.wait()
        return
    await wait_any(dispatcher.fleet_ready, stop, 3600)
    while not stop.is_set():
        await sleep_or_stop(stop, interval_s)
        if dispatcher.fleet.index.dirty and not stop.is_set():
            await dispatcher.build_index()


async def run_timers(dispatcher: Dispatcher, stop: asyncio.Event, *, interval_s: float) -> None:
    while not stop.is_set():
        await sleep_or_stop(stop, interval_s)
        try:
            await dispatcher.expire_unaccepted()
        except _DB_ERRORS as error:
            log.warning("timeout_check_failed", error=repr(error))


async def run_coverage(dispatcher: Dispatcher, stop: asyncio.Event, *, interval_s: float) -> None:
    while not stop.is_set():
        await sleep_or_stop(stop, interval_s)
        try:
            await dispatcher.report_coverage()
        except _DB_ERRORS as error:
            log.warning("coverage_failed", error=repr(error))


async def run_duty_refresh(
    dispatcher: Dispatcher, stop: asyncio.Event, *, interval_s: float
) -> None:
    """The units dispatchers put off duty, from PostgreSQL (commands.refresh_duty)."""
    while not stop.is_set():
        await sleep_or_stop(stop, interval_s)
        try:
            await refresh_duty(dispatcher)
        except _DB_ERRORS as error:
            log.warning("duty_refresh_failed", error=repr(error))


async def run_reconcile(dispatcher: Dispatcher, stop: asyncio.Event, *, interval_s: float) -> None:
    while not stop.is_set():
        await sleep_or_stop(stop, interval_s)
        try:
            await dispatcher.reconcile()
        except _DB_ERRORS as error:
            log.warning("reconcile_failed", error=repr(error))


async def run_positioning(
    positioning: Positioning,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    *,
    interval_s: float,
    report_every_s: float,
) -> None:
    """Posts for idle units (service_layer/positioning.py), and the live coverage."""
    reported = 0.0
    while not stop.is_set():
        await sleep_or_stop(stop, interval_s)
        try:
            await positioning.plan(clock())
        except (*_DB_ERRORS, WorkerLost) as error:
            log.warning("positioning_failed", error=repr(error))
        if time.monotonic() - reported >= report_every_s:
            reported = time.monotonic()
            try:
                await positioning.report(clock())
            except WorkerLost as error:
                log.warning("coverage_report_failed", error=repr(error))
