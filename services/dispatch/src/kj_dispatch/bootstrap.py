"""The one place that builds the dispatch service: settings, pool, outbox relay, consumers,
the dispatcher and its loops, and the ops HTTP server. Tests build it with the same function."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg
import structlog
import uvicorn
from fastapi import FastAPI
from shapely.geometry import Point

from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.coverage import PlatformArea
from kj_dispatch.domain.eta import StraightLineEta
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.plans import load_plans
from kj_dispatch.domain.policy import PolicyParams
from kj_dispatch.entrypoints.consumers import decoding_handler, read_compacted
from kj_dispatch.entrypoints.loops import run_coverage, run_planner, run_timers
from kj_dispatch.service_layer.dispatcher import Dispatcher, Timings
from kj_dispatch.service_layer.workorder_events import handle_events
from kj_dispatch.settings import DispatchSettings
from kj_runtime.consumer import consume_batches
from kj_runtime.db import create_pool
from kj_runtime.deadletters import DeadLetterSink
from kj_runtime.http_ops import add_ops_routes
from kj_runtime.kafka import make_consumer, make_producer
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.city import City, load_city
from kj_schemas.codec import decode
from kj_schemas.geo import LocalProjection
from kj_schemas.topics import ALARMS_ACCEPTED, UNITS_STATE, WORKORDERS_EVENTS
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import WorkOrderEvent

log = structlog.get_logger(__name__)


def platform_areas(city: City) -> list[PlatformArea]:
    """Each platform's base with the tier target where it stands (smallest of its zones)."""
    areas = []
    for platform in city.platforms:
        point = Point(platform.lon, platform.lat)
        targets = [city.targets[z.tier] for z in city.zones if z.geometry.covers(point)]
        target = min(targets) if targets else max(city.targets.values())
        areas.append(PlatformArea(platform.id, platform.lat, platform.lon, float(target)))
    return areas


def build_dispatcher(settings: DispatchSettings, pool: asyncpg.Pool, city: City) -> Dispatcher:
    eta = StraightLineEta(settings.eta)
    lat0 = sum(p.lat for p in city.platforms) / len(city.platforms)
    lon0 = sum(p.lon for p in city.platforms) / len(city.platforms)
    index = CandidateIndex(
        LocalProjection(lat0, lon0),
        eta,
        rebuild_interval_s=settings.index_rebuild_interval_s,
        max_range_m=settings.max_range_m,
    )
    return Dispatcher(
        pool=pool,
        outbox=Outbox("dispatch", settings.kafka.topic_prefix),
        fleet=Fleet(index),
        eta=eta,
        plans=load_plans(settings.plans_file),
        policy=PolicyParams(preempt_min_saving_s=settings.preempt_min_saving_s),
        timings=Timings(settings.accept_timeout_s, settings.unresponsive_hold_s),
        areas=platform_areas(city),
        region=city.region,
    )


class _QuietServer(uvicorn.Server):
    """The service owns SIGTERM/SIGINT (one stop event); uvicorn must not take them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running(settings: DispatchSettings, stop: asyncio.Event) -> AsyncIterator[Dispatcher]:
    """Everything started; yields the dispatcher; stops and cleans up on exit."""
    city = load_city(settings.city_dir)
    pool = await create_pool(settings.postgres)
    producer = make_producer(settings.kafka)
    alarms = make_consumer(settings.kafka, ALARMS_ACCEPTED.name, group_id=settings.group_id)
    events = make_consumer(
        settings.kafka, WORKORDERS_EVENTS.name, group_id=f"{settings.group_id}.events"
    )
    fleet_reader = make_consumer(settings.kafka, group_id=None)
    tasks: list[asyncio.Task[None]] = []
    try:
        dispatcher = build_dispatcher(settings, pool, city)
        await dispatcher.recover()
        await producer.start()
        for consumer in (alarms, events, fleet_reader):
            await consumer.start()
        dead = DeadLetterSink(
            producer, service="dispatch", topic_prefix=settings.kafka.topic_prefix
        )
        relay = OutboxRelay(
            pool,
            # no linger: a work order goes the moment it is committed (rows that commit
            # together are still sent in one request)
            lambda: make_producer(settings.kafka, linger_ms=0),
            dispatcher.outbox,
            poll_interval_s=0.2,
        )

        def on_unit_state(record: object) -> None:
            try:
                dispatcher.on_unit_state(decode(UnitState, record.value))  # type: ignore[attr-defined]
            except ValueError as error:
                log.warning("invalid_unit_state", error=str(error)[:200])

        app = FastAPI(title="kj-dispatch")

        async def fleet_ready() -> bool:
            return dispatcher.fleet_ready.is_set()

        async def database() -> bool:
            return bool(await pool.fetchval("select true"))

        add_ops_routes(app, {"fleet": fleet_ready, "postgres": database})
        server = _QuietServer(
            uvicorn.Config(
                app, host=settings.http_host, port=settings.http_port, log_level="warning"
            )
        )
        tasks = [
            asyncio.create_task(relay.run(stop)),
            asyncio.create_task(
                read_compacted(
                    fleet_reader,
                    settings.kafka.topic(UNITS_STATE.name),
                    on_unit_state,
                    dispatcher.fleet_ready,
                    stop,
                )
            ),
            asyncio.create_task(
                consume_batches(
                    alarms,
                    decoding_handler(AlarmAccepted, dispatcher.receive_alarms, dead),
                    stop,
                    group=settings.group_id,
                    timeout_ms=50,
                )
            ),
            asyncio.create_task(
                consume_batches(
                    events,
                    decoding_handler(WorkOrderEvent, lambda e: handle_events(dispatcher, e), dead),
                    stop,
                    group=f"{settings.group_id}.events",
                    timeout_ms=50,
                )
            ),
            asyncio.create_task(
                run_planner(
                    dispatcher,
                    stop,
                    window_s=settings.batch_window_ms / 1000,
                    retry_s=settings.queue_retry_s,
                )
            ),
            asyncio.create_task(run_timers(dispatcher, stop, interval_s=settings.timer_interval_s)),
            asyncio.create_task(
                run_coverage(dispatcher, stop, interval_s=settings.coverage_interval_s)
            ),
            asyncio.create_task(_serve(server, stop)),
        ]
        yield dispatcher
    finally:
        stop.set()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("task_failed", error=repr(task.exception()))
        for consumer in (alarms, events, fleet_reader):
            await consumer.stop()
        await producer.stop()
        await pool.close()


async def _serve(server: uvicorn.Server, stop: asyncio.Event) -> None:
    serving = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serving


async def run(settings: DispatchSettings, stop: asyncio.Event) -> None:
    async with running(settings, stop):
        await stop.wait()
