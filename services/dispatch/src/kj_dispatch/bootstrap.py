"""Builds the dispatch service: its wiring diagram. Tests build it with the same function;
`kj_runtime.host` runs it (restore, consumers, loops, HTTP, ordered stop)."""

from collections.abc import Sequence
from datetime import timedelta

import asyncpg
from shapely.geometry import Point

from kj_dispatch import metrics
from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.coverage import PlatformArea
from kj_dispatch.domain.demand import CallRecord, demand_cells, learn_rates, prior_by_zone
from kj_dispatch.domain.eta import StraightLineEta
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.plans import load_plans
from kj_dispatch.domain.policy import PolicyParams
from kj_dispatch.domain.positioning import PositionPlanner
from kj_dispatch.domain.posts import candidate_posts
from kj_dispatch.domain.reach import Reach
from kj_dispatch.domain.repositions import PATROL_RADIUS_M
from kj_dispatch.entrypoints.consumers import on_alarms, on_unit_states
from kj_dispatch.entrypoints.loops import (
    run_coverage,
    run_duty_refresh,
    run_index_builds,
    run_planner,
    run_positioning,
    run_reconcile,
    run_timers,
)
from kj_dispatch.service_layer.commands import handle_commands, refresh_duty
from kj_dispatch.service_layer.dispatcher import Dispatcher, Timings
from kj_dispatch.service_layer.positioning import CITY_TIME, Positioning
from kj_dispatch.service_layer.workorder_events import handle_events
from kj_dispatch.settings import DispatchSettings
from kj_runtime.consume import Assignment, ReadUpTo, Route, Subscription
from kj_runtime.db import relay_pool, work_pool
from kj_runtime.host import Service
from kj_runtime.kafka import CALL_FETCH_MAX_WAIT_MS, key_partitions, make_producer
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.city import City, load_city
from kj_schemas.commands import DispatchCommand
from kj_schemas.enums import ResponseTier
from kj_schemas.geo import LocalProjection
from kj_schemas.topics import ALARMS_ACCEPTED, DISPATCH_COMMANDS, UNITS_STATE, WORKORDERS_EVENTS
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import WorkOrderEvent

SERVICE = "dispatch"
IDLE_IN_TRANSACTION_MS = 10_000


def platform_areas(city: City) -> list[PlatformArea]:
    """Each platform's base with the tier target where it stands (smallest of its zones)."""
    areas = []
    for platform in city.platforms:
        point = Point(platform.lon, platform.lat)
        targets = [city.targets[z.tier] for z in city.zones if z.geometry.covers(point)]
        target = min(targets) if targets else max(city.targets.values())
        areas.append(PlatformArea(platform.id, platform.lat, platform.lon, float(target)))
    return areas


def city_projection(city: City) -> LocalProjection:
    """Dispatch's metres, centred on the city's platforms."""
    lat0 = sum(p.lat for p in city.platforms) / len(city.platforms)
    lon0 = sum(p.lon for p in city.platforms) / len(city.platforms)
    return LocalProjection(lat0, lon0)


def position_planner(
    city: City, settings: DispatchSettings, calls: Sequence[CallRecord] = (), days: float = 0
) -> PositionPlanner:
    """The positioning planner over the city's candidate posts: call rates from a prior by zone,
    learned from `days` of `calls` when there are any (decision 0060)."""
    projection = city_projection(city)
    cells = demand_cells(city.zones, city.targets, projection)
    demand = prior_by_zone(cells, calls_per_day=settings.expected_calls_per_day)
    if calls and days > 0:
        demand = learn_rates(demand, calls, days=days, projection=projection)
    return PositionPlanner(
        posts=candidate_posts(
            zones=city.zones, platforms=city.platforms, checkpoints=city.checkpoints
        ),
        demand=demand,
        reach=Reach(settings.eta, demand, patrol_radius_m=PATROL_RADIUS_M),
        platforms={p.id: (p.lat, p.lon) for p in city.platforms},
        projection=projection,
    )


def build_dispatcher(settings: DispatchSettings, pool: asyncpg.Pool, city: City) -> Dispatcher:
    eta = StraightLineEta(settings.eta)
    index = CandidateIndex(
        city_projection(city),
        eta,
        rebuild_interval_s=settings.index_rebuild_interval_s,
        max_range_m=settings.max_range_m,
    )
    return Dispatcher(
        pool=pool,
        outbox=Outbox(SERVICE, settings.kafka),
        fleet=Fleet(index),
        eta=eta,
        plans=load_plans(settings.plans_file),
        policy=PolicyParams(preempt_min_saving_s=settings.preempt_min_saving_s),
        timings=Timings(settings.accept_timeout_s, settings.unresponsive_hold_s),
        areas=platform_areas(city),
        region=city.region,
        instance=settings.instance,
        max_calls_per_pass=settings.max_calls_per_pass,
    )


async def build(settings: DispatchSettings) -> Service[Dispatcher]:
    city = load_city(settings.city_dir)
    # a process paused inside a transaction (SIGSTOP, a VM freeze) holds its lease's share
    # lock: PostgreSQL ends such a session, so the replica that took over is not kept waiting
    # the work path leaves no session state: released without asyncpg's full reset, a round
    # trip off every plan's writes (decision 0180); the relay has its own pool
    pool = await work_pool(
        settings.postgres,
        server_settings={"idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS)},
    )
    dispatcher = build_dispatcher(settings, pool, city)
    dispatcher.answers_read = ReadUpTo()  # the acceptance timer waits for the answers read
    regions = [city.region]
    metrics.start_at_zero(platforms=[p.id for p in city.platforms], regions=regions)
    owners: dict[int, set[str]] = {}  # partition of alarms.accepted -> the regions keyed to it

    async def learn_partitions() -> None:
        owners.update(await key_partitions(settings.kafka, ALARMS_ACCEPTED.name, regions))

    async def on_assigned(assignment: Assignment) -> None:
        held = {p for topic, p in assignment if topic == ALARMS_ACCEPTED.name}
        await dispatcher.hold_regions({r for p in held for r in owners.get(p, set())})
        await refresh_duty(dispatcher)  # the units dispatchers put off duty (issue 17)

    relays = await relay_pool(settings.postgres)
    relay = OutboxRelay(
        relays,
        # no linger: a work order goes the moment it is committed (rows that commit together
        # are still sent in one request)
        lambda: make_producer(settings.kafka, linger_ms=0),
        dispatcher.outbox,
        poll_interval_s=0.2,
    )

    async def fleet_ready() -> bool:
        return dispatcher.fleet_ready.is_set()

    async def database() -> bool:
        return bool(await pool.fetchval("select true"))

    service = Service(
        SERVICE,
        settings,
        core=dispatcher,
        checks={"fleet": fleet_ready, "postgres": database},
        restore=[learn_partitions],
        subscriptions=[
            # the fleet as tracking last published it: every partition from the beginning
            Subscription(
                "fleet",
                None,
                (
                    Route.of(
                        UNITS_STATE.name,
                        UnitState,
                        lambda states: on_unit_states(dispatcher, states),
                        dead_letter_invalid=False,  # every replica reads it whole at start
                    ),
                ),
                max_records=5000,
                caught_up=dispatcher.fleet_ready,
            ),
            Subscription(
                "alarms",
                settings.group_id,
                (
                    Route.of(
                        ALARMS_ACCEPTED.name,
                        AlarmAccepted,
                        lambda alarms: on_alarms(dispatcher, alarms),
                    ),
                ),
                timeout_ms=50,
                options={
                    "fetch_max_wait_ms": CALL_FETCH_MAX_WAIT_MS,  # calls (decision 0177)
                    "session_timeout_ms": settings.session_timeout_ms,
                    "heartbeat_interval_ms": settings.session_timeout_ms // 3,
                },
                on_assigned=on_assigned,
            ),
            Subscription(
                "events",
                f"{settings.group_id}.events.{settings.instance}",
                (
                    Route.of(
                        WORKORDERS_EVENTS.name,
                        WorkOrderEvent,
                        lambda events: handle_events(dispatcher, events),
                    ),
                ),
                timeout_ms=50,
                read_up_to=dispatcher.answers_read,
            ),
            # dispatchers' commands: every replica reads them all, the region's holder answers
            Subscription(
                "commands",
                f"{settings.group_id}.commands.{settings.instance}",
                (
                    Route.of(
                        DISPATCH_COMMANDS.name,
                        DispatchCommand,
                        lambda commands: handle_commands(
                            dispatcher, commands, max_age_s=settings.command_max_age_s
                        ),
                    ),
                ),
                timeout_ms=50,
            ),
        ],
        loops={
            "outbox-relay": relay.run,
            "planner": lambda stop: run_planner(
                dispatcher,
                stop,
                window_s=settings.batch_window_ms / 1000,
                retry_s=settings.queue_retry_s,
            ),
            "index": lambda stop: run_index_builds(dispatcher, stop),
            "timers": lambda stop: run_timers(
                dispatcher, stop, interval_s=settings.timer_interval_s
            ),
            "coverage": lambda stop: run_coverage(
                dispatcher, stop, interval_s=settings.coverage_interval_s
            ),
            "reconcile": lambda stop: run_reconcile(
                dispatcher, stop, interval_s=settings.reconcile_interval_s
            ),
            "duty": lambda stop: run_duty_refresh(
                dispatcher, stop, interval_s=settings.reconcile_interval_s
            ),
        },
    )
    if settings.positioning:
        positioning = Positioning(
            planner=position_planner(city, settings),
            book=dispatcher.book,
            ownership=dispatcher.ownership,
            pool=pool,
            outbox=dispatcher.outbox,
            vacated=dispatcher.vacated,
        )

        async def learn_call_rates() -> None:
            since = dispatcher.clock() - timedelta(days=settings.history_days)
            async with pool.acquire() as connection:
                calls = await repo.recent_calls(connection, regions, since)
            if calls:
                first = min(at for *_, at in calls)
                days = max((dispatcher.clock() - first).total_seconds() / 86_400, 1.0)
                records = [
                    CallRecord(lat, lon, ResponseTier(tier), at.astimezone(CITY_TIME).hour)
                    for lat, lon, tier, at in calls
                ]
                positioning.use(position_planner(city, settings, records, days))

        service.restore.append(learn_call_rates)
        service.loops["positioning"] = lambda stop: run_positioning(
            positioning,
            dispatcher.clock,
            stop,
            interval_s=settings.positioning_interval_s,
            report_every_s=settings.coverage_interval_s,
        )
        service.resources.callback(positioning.close)
    service.resources.push_async_callback(pool.close)
    service.resources.push_async_callback(relays.close)
    return service
