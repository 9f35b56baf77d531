"""Builds the tracking service: its wiring diagram. Tests and the benchmark build it with the
same function (a different city is just another folder); `kj_runtime.host` runs it."""

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from kj_runtime.consume import Assignment, Route, Subscription
from kj_runtime.db import relay_pool, work_pool
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.host import Service
from kj_runtime.kafka import key_partitions, make_producer
from kj_runtime.lifecycle import sleep_or_stop
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.city import City, load_city
from kj_schemas.topics import DISPATCH_WORKORDERS, PATROL_PINGS, UNITS_STATE, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrder, WorkOrderEvent
from kj_tracking import metrics
from kj_tracking.adapters.ping_codec import ping_route
from kj_tracking.adapters.state_publisher import StatePublisher
from kj_tracking.adapters.state_topic import rebuild_units
from kj_tracking.adapters.tracks import TrackWriter, drop_expired_partitions, ensure_partitions
from kj_tracking.domain.checkins import Checkpoint
from kj_tracking.domain.publication import PublishRules, TrackRules
from kj_tracking.domain.units import registry
from kj_tracking.domain.validation import Rules
from kj_tracking.entrypoints.access import Operators
from kj_tracking.entrypoints.http import make_app
from kj_tracking.service_layer.track_recorder import TrackRecorder
from kj_tracking.service_layer.tracker import Policy, Tracker
from kj_tracking.service_layer.work_orders import (
    handle_events,
    handle_work_orders,
    load_open_work_orders,
)
from kj_tracking.settings import TrackingSettings

log = structlog.get_logger(__name__)
SERVICE = "patrol_tracking"


def policy_from(settings: TrackingSettings) -> Policy:
    return Policy(
        rules=Rules(
            max_future_s=settings.max_future_s,
            max_age_s=settings.max_age_s,
            max_accuracy_m=settings.max_accuracy_m,
            max_speed_kmh=settings.max_speed_kmh,
            jump_slack_m=settings.jump_slack_m,
        ),
        publish=PublishRules(min_move_m=settings.min_move_m, heartbeat_s=settings.heartbeat_s),
        tracks=TrackRules(
            min_move_m=settings.tracks_min_move_m, max_gap_s=settings.tracks_max_gap_s
        ),
        arrival_radius_m=settings.arrival_radius_m,
        base_radius_m=settings.base_radius_m,
        returning_timeout_s=settings.returning_timeout_s,
        checkin_dwell_s=settings.checkin_dwell_s,
        silence_s=settings.silence_s,
    )


def checkpoints_of(city: City) -> dict[str, list[Checkpoint]]:
    grouped: dict[str, list[Checkpoint]] = {}
    for cp in city.checkpoints:
        grouped.setdefault(cp.platform, []).append(
            Checkpoint(cp.id, cp.platform, cp.lat, cp.lon, cp.radius_m)
        )
    return grouped


async def build(settings: TrackingSettings, *, city: City | None = None) -> Service[Tracker]:
    """Roles (docs/decisions/0020): "state" keeps unit states, arrivals, check-ins and silence;
    "tracks" COPYs every trusted fix; "all" does both in one process."""
    city = city or load_city(settings.city_dir)
    metrics.start_at_zero()
    units = registry([(u.id, u.platform, u.kind.value) for u in city.units])
    state_role, tracks_role = settings.role != "tracks", settings.role != "state"
    service: Service[Tracker]
    producer = make_producer(settings.kafka, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        pool = await work_pool(settings.postgres)  # no session state: no full reset (0180)
    except BaseException:
        await producer.stop()
        raise
    writer = TrackWriter(pool, max_rows=settings.track_queue_rows) if tracks_role else None
    outbox = Outbox(stream="tracking", kafka=settings.kafka)
    tracker = Tracker(
        units=units,
        platforms={p.id: (p.lat, p.lon) for p in city.platforms},
        checkpoints=checkpoints_of(city),
        policy=policy_from(settings),
        publish_states=StatePublisher(producer, settings.kafka.topic(UNITS_STATE.name)).publish,
        tracks=writer,
        pool=pool,
        outbox=outbox,
    )
    service = Service(
        SERVICE,
        settings,
        core=tracker,
        app=make_app(
            tracker,
            pool,
            Operators(settings.operator_token_sha256, settings.operator_platforms),
            max_track=timedelta(hours=settings.track_max_hours),
        ),
        producer=producer,
        checks={"postgres": lambda: _answers(pool)},
    )
    service.resources.push_async_callback(producer.stop)
    service.resources.push_async_callback(pool.close)

    async def partitions_ahead() -> None:
        async with pool.acquire() as connection:
            await ensure_partitions(connection, datetime.now(UTC).date())

    service.restore.append(partitions_ahead)
    pings_group = f"{settings.group_id}-tracks" if settings.role == "tracks" else settings.group_id
    pings_options = {
        "max_poll_records": settings.max_batch,
        "fetch_max_wait_ms": 100,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        "fetch_min_bytes": settings.pings_fetch_min_bytes,
    }
    if state_role:
        owners: dict[int, set[str]] = {}

        async def restore_state() -> None:
            await rebuild_units(settings.kafka, tracker.units)
            await load_open_work_orders(tracker)
            owners.update(await key_partitions(settings.kafka, PATROL_PINGS.name, list(units)))

        async def on_assigned(assignment: Assignment) -> None:
            partitions = sorted(p for topic, p in assignment if topic == PATROL_PINGS.name)
            tracker.take_ownership({u for p in partitions for u in owners.get(p, set())})
            log.info("ping_partitions_assigned", partitions=partitions)

        service.restore.append(restore_state)
        service.subscriptions += [
            Subscription(
                "pings",
                pings_group,
                (ping_route(tracker.handle_pings),),
                max_records=settings.max_batch,
                options=pings_options,
                on_assigned=on_assigned,
            ),
            Subscription(
                "workorders",
                f"{settings.group_id}-workorders-{settings.instance}",
                (
                    Route.of(
                        DISPATCH_WORKORDERS.name,
                        WorkOrder,
                        lambda orders: handle_work_orders(tracker, orders),
                    ),
                    Route.of(
                        WORKORDERS_EVENTS.name,
                        WorkOrderEvent,
                        lambda events: handle_events(tracker, events),
                    ),
                ),
            ),
        ]
        relays = await relay_pool(settings.postgres)
        service.resources.push_async_callback(relays.close)
        relay = OutboxRelay(relays, lambda: make_producer(settings.kafka), outbox)
        service.loops["outbox-relay"] = relay.run
        service.loops["sweep"] = lambda stop: _sweep(tracker, stop, settings.sweep_interval_s)
    else:
        assert writer is not None
        recorder = TrackRecorder(
            registry([(u.id, u.platform, u.kind.value) for u in city.units]),
            tracker.policy.rules,
            tracker.policy.tracks,
            writer,
        )
        service.subscriptions.append(
            Subscription(
                "pings",
                pings_group,
                # the state role dead-letters what does not decode
                (ping_route(recorder.handle_pings, dead_letter_invalid=False),),
                max_records=settings.max_batch,
                options=pings_options,
            )
        )
    if writer is not None:
        service.loops["tracks"] = writer.run
        service.loops["track-partitions"] = lambda stop: _partitions(pool, settings, stop)
    return service


async def _answers(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("select 1"))


async def _sweep(tracker: Tracker, stop: asyncio.Event, interval_s: float) -> None:
    """Silence and return-to-base timeouts of the units this process owns (once it knows)."""
    while not stop.is_set():
        if tracker.owned is not None:
            await tracker.sweep()
        await sleep_or_stop(stop, interval_s)


async def _partitions(pool: asyncpg.Pool, settings: TrackingSettings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with pool.acquire() as connection:
                today = datetime.now(UTC).date()
                await ensure_partitions(connection, today)
                await drop_expired_partitions(connection, today, settings.track_retention_days)
        except (*UNAVAILABLE, asyncpg.PostgresError) as error:
            log.warning("track_partitions_failed", error=str(error))
        await sleep_or_stop(stop, 3600)
