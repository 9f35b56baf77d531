"""Builds the notify service from its settings: pool, outbox and relay, the gateway app, the
consumers, the callback workers and the broadcast sender. Tests build it the same way."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import asyncpg
import httpx
import structlog
import uvicorn
from aiokafka import ConsumerRecord
from fastapi import FastAPI

from kj_notify.adapters import pools
from kj_notify.adapters.channels import HttpPushAdapter
from kj_notify.adapters.deliveries import Delivery
from kj_notify.domain.tokens import TokenBook
from kj_notify.entrypoints.consumers import run_consumer, watch_backlog
from kj_notify.entrypoints.http_api import create_app
from kj_notify.entrypoints.hub import Hub, ReceiptBatcher, listen_for_deliveries
from kj_notify.service_layer import terminals
from kj_notify.service_layer.broadcasts import BroadcastSender, RegistryIndex, take_broadcasts
from kj_notify.service_layer.callbacks import CallbackWorkers, RetryPolicy, take_status_changes
from kj_notify.settings import NotifySettings
from kj_runtime.kafka import make_producer
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.topics import ALARMS_STATUS, DISPATCH_WORKORDERS, NOTIFY_BROADCASTS

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
    integrations: TokenBook
    client: httpx.AsyncClient
    callbacks: CallbackWorkers
    sender: BroadcastSender
    index: RegistryIndex
    app: FastAPI = field(init=False)

    def __post_init__(self) -> None:
        self.app = create_app(self, {"postgres": self._db_ok})

    async def _db_ok(self) -> bool:
        return bool(await self.pool.fetchval("select true"))

    async def on_work_orders(self, records: Sequence[ConsumerRecord]) -> None:
        """Store the batch; its deliveries go to their sockets while the COMMIT runs."""
        pushed: list[tuple[list[Delivery], asyncio.Future[None]]] = []

        def push(stored: list[Delivery]) -> None:
            pushed.append((stored, self.hub.push_before_commit(stored)))

        try:
            await terminals.take_work_orders(
                self.pool, self.outbox, records, replica=self.hub.replica, on_stored=push
            )
        finally:
            for stored, outcome in pushed:
                self.hub.settle(stored, outcome)

    async def on_status_changes(self, records: Sequence[ConsumerRecord]) -> None:
        for source in await take_status_changes(self.pool, self.outbox, records):
            self.callbacks.wake(source)

    async def on_broadcasts(self, records: Sequence[ConsumerRecord]) -> None:
        if await take_broadcasts(self.pool, self.outbox, self.index, records):
            self.sender.wake.set()


@contextlib.asynccontextmanager
async def build(settings: NotifySettings) -> AsyncIterator[Notify]:
    pool = await pools.work_pool(settings.postgres)
    relay_pool = await pools.relay_pool(settings.postgres)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))
    outbox = Outbox("notify", settings.kafka.topic_prefix)
    dev_secret = settings.dev_token_secret.get_secret_value() if settings.dev_token_secret else None
    policy = RetryPolicy(
        timeout_s=settings.callback_timeout_s,
        window_s=settings.callback_retry_window_s,
        wait_initial_s=settings.callback_wait_initial_s,
        wait_max_s=settings.callback_wait_max_s,
    )
    push_url = str(settings.push_url) if settings.push_url else None
    hub = Hub(settings.replica_id)
    notify = Notify(
        settings=settings,
        pool=pool,
        relay_pool=relay_pool,
        outbox=outbox,
        hub=hub,
        receipts=ReceiptBatcher(pool, outbox, hub),
        devices=TokenBook(settings.device_token_sha256, dev_secret=dev_secret),
        integrations=TokenBook(settings.integration_token_sha256),
        client=client,
        callbacks=CallbackWorkers(pool, outbox, client, policy),
        sender=BroadcastSender(
            pool, outbox, HttpPushAdapter(client, push_url, settings.push_timeout_s)
        ),
        index=RegistryIndex(pool),
    )
    try:
        yield notify
    finally:
        await notify.callbacks.close()
        await client.aclose()
        await relay_pool.close()
        await pool.close()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service's stop event rules."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


async def run(settings: NotifySettings, stop: asyncio.Event) -> None:
    """Serve until `stop` is set; then close terminals, stop consumers and drain."""
    async with build(settings) as notify:
        kafka = settings.kafka
        group = settings.consumer_group
        relay = OutboxRelay(notify.relay_pool, lambda: make_producer(kafka), notify.outbox)
        server = _Server(
            uvicorn.Config(
                notify.app,
                host=settings.http_host,
                port=settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
                ws_ping_interval=20,
                ws_ping_timeout=20,
                ws_per_message_deflate=False,  # small frames: compression costs more than it saves
            )
        )
        await notify.callbacks.resume_pending()
        tasks = [
            asyncio.create_task(relay.run(stop), name="outbox-relay"),
            asyncio.create_task(
                listen_for_deliveries(settings.postgres.dsn(), notify.hub, stop), name="listener"
            ),
            asyncio.create_task(notify.sender.run(stop), name="broadcast-sender"),
            asyncio.create_task(notify.receipts.run(stop), name="receipts"),
            asyncio.create_task(
                watch_backlog(notify.pool, notify.outbox, stop, settings.overdue_check_s),
                name="backlog",
            ),
        ]
        if settings.consume:
            tasks += [
                asyncio.create_task(
                    run_consumer(
                        kafka,
                        DISPATCH_WORKORDERS.name,
                        f"{group}-workorders",
                        notify.on_work_orders,
                        stop,
                        commit_every_s=0.5,
                    ),
                    name="workorders",
                ),
                asyncio.create_task(
                    run_consumer(
                        kafka,
                        ALARMS_STATUS.name,
                        f"{group}-callbacks",
                        notify.on_status_changes,
                        stop,
                    ),
                    name="callbacks",
                ),
                asyncio.create_task(
                    run_consumer(
                        kafka,
                        NOTIFY_BROADCASTS.name,
                        f"{group}-broadcasts",
                        notify.on_broadcasts,
                        stop,
                    ),
                    name="broadcasts",
                ),
            ]
        serving = asyncio.create_task(server.serve(), name="http")
        log.info("notify_started", port=settings.http_port, replica=settings.replica_id)
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopping, serving, *tasks], return_when="FIRST_COMPLETED")
        for task in done:
            if task is not stopping and task.exception() is not None:
                log.error("notify_task_failed", task=task.get_name(), error=repr(task.exception()))
        stop.set()
        await notify.hub.close_all()
        server.should_exit = True
        await asyncio.gather(serving, *tasks, return_exceptions=True)
        log.info("notify_stopped")
