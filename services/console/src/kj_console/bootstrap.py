"""Builds the console: its wiring diagram. Tests build it with the same function;
`kj_runtime.host` runs it (restore from PostgreSQL, consumers, loops, HTTP, ordered stop)."""

import asyncio
import secrets

import httpx
import orjson
import structlog

from kj_console.adapters.alarm_api import AlarmIntake
from kj_console.domain.live import LiveView
from kj_console.entrypoints.http import create_app
from kj_console.service_layer.actions import Actions
from kj_console.service_layer.auth import Accounts
from kj_console.service_layer.console import Console
from kj_console.service_layer.feed import Feed
from kj_console.service_layer.hub import Hub
from kj_console.service_layer.views import city_payload
from kj_console.settings import ConsoleSettings
from kj_runtime.consume import Route, Subscription
from kj_runtime.db import create_pool
from kj_runtime.host import Service
from kj_runtime.kafka import make_producer
from kj_runtime.lifecycle import sleep_or_stop
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.alarms import AlarmAccepted, AlarmMerged, AlarmStatusChanged
from kj_schemas.city import load_city
from kj_schemas.commands import CommandHandled
from kj_schemas.deadletter import DeadLetter
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.topics import (
    ALARMS_ACCEPTED,
    ALARMS_MERGED,
    ALARMS_STATUS,
    DEADLETTERS,
    DISPATCH_COMMAND_RESULTS,
    DISPATCH_NOTICES,
    DISPATCH_WORKORDERS,
    NOTIFY_RECEIPTS,
    UNITS_STATE,
    WORKORDERS_EVENTS,
)
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import CommandNotice, WorkOrder, WorkOrderEvent

SERVICE = "console"
log = structlog.get_logger(__name__)


def _view_route(topic: str, model: type, handle: object) -> Route:
    # the console only reads: the services that own these topics dead-letter what is broken
    return Route.of(topic, model, handle, dead_letter_invalid=False)  # type: ignore[arg-type]


async def build(settings: ConsoleSettings) -> Service[Console]:
    city = load_city(settings.city_dir)
    pool = await create_pool(settings.postgres)
    if settings.session_secret is None:
        log.warning("session_secret_random", why="KJ_CONSOLE_SESSION_SECRET not set")
    key = (
        settings.session_secret.get_secret_value().encode()
        if settings.session_secret
        else secrets.token_bytes(32)
    )
    client = httpx.AsyncClient()
    token = settings.alarm_token.get_secret_value() if settings.alarm_token else None
    intake = AlarmIntake(client, str(settings.alarm_url), token)
    outbox = Outbox(SERVICE, settings.kafka)
    view = LiveView()
    hub = Hub(view, queue_size=settings.browser_queue)
    feed = Feed(view, hub, pool, region=city.region)
    payload = city_payload(city, tile_url=settings.tile_url, attribution=settings.tile_attribution)
    console = Console(
        settings=settings,
        pool=pool,
        view=view,
        hub=hub,
        feed=feed,
        accounts=Accounts(pool, key=key, settings=settings),
        actions=Actions(pool, outbox, region=city.region, unmerge=intake.unmerge),
        city=payload,
        city_json=orjson.dumps(payload),
    )
    relay = OutboxRelay(pool, lambda: make_producer(settings.kafka, linger_ms=0), outbox)
    units_ready = asyncio.Event()

    async def positions(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await sleep_or_stop(stop, settings.position_interval_s)
            hub.tick()

    async def reconcile(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await sleep_or_stop(stop, settings.reconcile_interval_s)
            try:
                await feed.reconcile()
            except (TimeoutError, OSError) as error:
                log.warning("reconcile_failed", error=repr(error))

    async def database() -> bool:
        return bool(await pool.fetchval("select true"))

    async def units() -> bool:
        return units_ready.is_set()

    service = Service(
        SERVICE,
        settings,
        core=console,
        app=create_app(console),
        checks={"postgres": database, "units": units},
        restore=[feed.restore],
        subscriptions=[
            # every unit's latest state: the compacted topic read whole at start
            Subscription(
                "units",
                None,
                (_view_route(UNITS_STATE.name, UnitState, feed.on_unit_states),),
                max_records=5000,
                caught_up=units_ready,
            ),
            # what happens from now on (what happened before was read from PostgreSQL)
            Subscription(
                "live",
                None,
                (
                    _view_route(ALARMS_ACCEPTED.name, AlarmAccepted, feed.on_accepted),
                    _view_route(ALARMS_MERGED.name, AlarmMerged, feed.on_merged),
                    _view_route(DISPATCH_WORKORDERS.name, WorkOrder, feed.on_work_orders),
                    _view_route(WORKORDERS_EVENTS.name, WorkOrderEvent, feed.on_events),
                    _view_route(ALARMS_STATUS.name, AlarmStatusChanged, feed.on_status),
                    _view_route(DISPATCH_NOTICES.name, CommandNotice, feed.on_notices),
                    _view_route(DISPATCH_COMMAND_RESULTS.name, CommandHandled, feed.on_answers),
                    _view_route(NOTIFY_RECEIPTS.name, DeliveryReceipt, feed.on_receipts),
                    _view_route(DEADLETTERS.name, DeadLetter, feed.on_dead_letters),
                ),
                timeout_ms=50,
                from_end=True,
            ),
        ],
        loops={"outbox-relay": relay.run, "positions": positions, "reconcile": reconcile},
        uvicorn_options={"ws_ping_interval": 20, "ws_ping_timeout": 20},
    )
    service.resources.push_async_callback(pool.close)
    service.resources.push_async_callback(client.aclose)
    return service
