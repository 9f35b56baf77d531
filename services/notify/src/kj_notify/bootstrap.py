"""Builds the notify service: its wiring diagram (pool, outbox and relay, the gateway app, the
consumers, the callback workers and the broadcast sender). Tests build it with the same function;
`kj_runtime.host` runs it."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
import httpx
import structlog
from fastapi import FastAPI

from kj_notify.adapters.callbacks import Destination
from kj_notify.adapters.channels import HttpPushAdapter
from kj_notify.adapters.deliveries import Delivery
from kj_notify.domain.tokens import TokenBook
from kj_notify.entrypoints.http_api import create_app
from kj_notify.entrypoints.hub import Hub, ReceiptBatcher, listen_for_deliveries
from kj_notify.entrypoints.loops import watch_backlog
from kj_notify.service_layer import terminals
from kj_notify.service_layer.broadcasts import BroadcastSender, RegistryIndex, take_broadcasts
from kj_notify.service_layer.callbacks import CallbackWorkers, RetryPolicy, take_status_changes
from kj_notify.service_layer.hotline import HOTLINE, take_diversions
from kj_notify.settings import NotifySettings
from kj_runtime import db
from kj_runtime.consume import CommitEvery, Inbound, Route, Subscription
from kj_runtime.host import Service, serve
from kj_runtime.integrations import IntegrationRegistry
from kj_runtime.kafka import CALL_FETCH_MAX_WAIT_MS, make_producer
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.alarms import AlarmDiverted, AlarmStatusChanged
from kj_schemas.notify import BroadcastRequested
from kj_schemas.topics import (
    ALARMS_DIVERTED,
    ALARMS_STATUS,
    DISPATCH_WORKORDERS,
    NOTIFY_BROADCASTS,
)
from kj_schemas.workorders import WorkOrder

log = structlog.get_logger(__name__)


@dataclass
class Notify:
    settings: NotifySettings
    pool: asyncpg.Pool
    relay_pool: asyncpg.Pool
    outbox: Outbox
    hub: Hub
    receipts: ReceiptBatcher
    devices: TokenBook
    integrations: IntegrationRegistry
    client: httpx.AsyncClient
    callbacks: CallbackWorkers
    sender: BroadcastSender
    index: RegistryIndex
    app: FastAPI = field(init=False)

    def __post_init__(self) -> None:
        self.app = create_app(self)

    async def database_answers(self) -> bool:
        return bool(await self.pool.fetchval("select true"))

    async def on_work_orders(self, orders: Sequence[WorkOrder]) -> None:
        """Store the batch; its deliveries go to their sockets while the COMMIT runs."""
        pushed: list[tuple[list[Delivery], asyncio.Future[None]]] = []

        def push(stored: list[Delivery]) -> None:
            pushed.append((stored, self.hub.push_before_commit(stored)))

        try:
            await terminals.take_work_orders(
                self.pool, self.outbox, orders, replica=self.hub.replica, on_stored=push
            )
        finally:
            for stored, outcome in pushed:
                self.hub.settle(stored, outcome)

    async def on_status_changes(self, changes: Sequence[Inbound[AlarmStatusChanged]]) -> None:
        for source in await take_status_changes(self.pool, changes):
            self.callbacks.wake(source)

    async def on_diverted(self, diverted: Sequence[Inbound[AlarmDiverted]]) -> None:
        if await take_diversions(self.pool, diverted):
            self.callbacks.wake(HOTLINE)

    async def on_broadcasts(self, requests: Sequence[BroadcastRequested]) -> None:
        if await take_broadcasts(self.pool, self.index, requests):
            self.sender.wake.set()


async def build(settings: NotifySettings) -> Service[Notify]:
    pool = await db.work_pool(settings.postgres)
    relay_pool = await db.relay_pool(settings.postgres)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
    outbox = Outbox("notify", settings.kafka)
    dev_secret = settings.dev_token_secret.get_secret_value() if settings.dev_token_secret else None
    policy = RetryPolicy(
        timeout_s=settings.callback_timeout_s,
        window_s=settings.callback_retry_window_s,
        wait_initial_s=settings.callback_wait_initial_s,
        wait_max_s=settings.callback_wait_max_s,
    )
    push_url = str(settings.push_url) if settings.push_url else None
    hotline = (
        {HOTLINE: Destination(HOTLINE, str(settings.hotline_url), (secret.get_secret_value(),))}
        if settings.hotline_url and (secret := settings.hotline_signing_secret)
        else {}
    )
    hub = Hub(settings.replica_id)
    notify = Notify(
        settings=settings,
        pool=pool,
        relay_pool=relay_pool,
        outbox=outbox,
        hub=hub,
        receipts=ReceiptBatcher(pool, outbox, hub),
        devices=TokenBook(settings.device_token_sha256, dev_secret=dev_secret),
        integrations=IntegrationRegistry(
            pool, settings.registry, service="notify", static=settings.integration_token_sha256
        ),
        client=client,
        callbacks=CallbackWorkers(pool, outbox, client, policy, fixed=hotline),
        sender=BroadcastSender(
            pool, outbox, HttpPushAdapter(client, push_url, settings.push_timeout_s)
        ),
        index=RegistryIndex(pool),
    )
    await notify.integrations.load()  # before the HTTP server opens
    relay = OutboxRelay(relay_pool, lambda: make_producer(settings.kafka), outbox)
    service = Service(
        "notify",
        settings,
        core=notify,
        app=notify.app,
        checks={"postgres": notify.database_answers},
        restore=[notify.callbacks.resume_pending],
        before_stop=[hub.close_all],  # terminals hear the gateway go, then the consumers stop
        loops={
            "outbox-relay": relay.run,
            "integration-registry": notify.integrations.run,
            "listener": lambda stop: listen_for_deliveries(settings.postgres.dsn(), hub, stop),
            "broadcast-sender": notify.sender.run,
            "receipts": notify.receipts.run,
            "backlog": lambda stop: watch_backlog(pool, outbox, stop, settings.overdue_check_s),
        },
        uvicorn_options={
            "ws_max_size": settings.terminal_max_frame_bytes,
            "ws_per_message_deflate": False,  # small frames: compression costs more than it saves
        },
    )
    service.resources.push_async_callback(pool.close)
    service.resources.push_async_callback(relay_pool.close)
    service.resources.push_async_callback(client.aclose)
    service.resources.push_async_callback(notify.callbacks.close)
    if settings.consume:
        group = settings.consumer_group
        service.subscriptions += [
            Subscription(
                "workorders",
                f"{group}-workorders",
                # the key names the unit whose terminal gets it: a record keyed otherwise would
                # reach the wrong replica's socket, so it is refused (key_mismatch)
                (
                    Route.of(
                        DISPATCH_WORKORDERS.name,
                        WorkOrder,
                        notify.on_work_orders,
                        key_field="unit_id",
                    ),
                ),
                # idempotent by message id: the offset commit is off every batch's path
                # (decision 0041)
                commit=CommitEvery(0.5),
                timeout_ms=50,
                options={"fetch_max_wait_ms": CALL_FETCH_MAX_WAIT_MS},  # decision 0177
            ),
            Subscription(
                "callbacks",
                f"{group}-callbacks",
                (
                    Route.of(
                        ALARMS_STATUS.name,
                        AlarmStatusChanged,
                        notify.on_status_changes,
                        envelopes=True,  # the record's bytes are the callback's body
                    ),
                ),
                timeout_ms=50,
            ),
            Subscription(
                "broadcasts",
                f"{group}-broadcasts",
                (Route.of(NOTIFY_BROADCASTS.name, BroadcastRequested, notify.on_broadcasts),),
                timeout_ms=50,
            ),
        ]
        if hotline:
            service.subscriptions.append(
                Subscription(
                    "hotline",
                    f"{group}-hotline",
                    (
                        Route.of(
                            ALARMS_DIVERTED.name,
                            AlarmDiverted,
                            notify.on_diverted,
                            envelopes=True,  # the record's bytes are the hand-off's body
                        ),
                    ),
                    timeout_ms=50,
                )
            )
        else:
            log.warning("hotline_not_configured", topic=ALARMS_DIVERTED.name)
    return service


async def run(settings: NotifySettings, stop: asyncio.Event) -> None:
    """Serve until `stop` is set (tests; the command line is kj_runtime.host.main)."""
    await serve(await build(settings), stop)
