"""Broadcasts to taxi drivers and volunteers near an incident: find them with the k-d tree,
record one message per (broadcast, recipient) in the consumer's transaction, then send the
recorded messages through the channel adapter and record each outcome with a receipt."""

import asyncio
import contextlib
import time
from collections.abc import Sequence

import asyncpg
import structlog

from kj_notify.adapters import recipients
from kj_notify.adapters.channels import ChannelAdapter, DeliveryFailed
from kj_notify.domain.nearby import NearbyIndex
from kj_notify.metrics import BROADCAST_DELIVERIES, BROADCASTS
from kj_notify.service_layer.receipts import notification_id, receipt
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.idempotency import first_time
from kj_runtime.outbox import Outbox
from kj_schemas.base import utcnow
from kj_schemas.enums import NotificationChannel, ReceiptStatus
from kj_schemas.notify import BroadcastRequested, Notification
from kj_schemas.topics import NOTIFY_RECEIPTS

log = structlog.get_logger(__name__)
CONSUMER = "notify-broadcasts"


class RegistryIndex:
    """The k-d tree over the registry, rebuilt when it is older than `max_age_s`."""

    def __init__(self, pool: asyncpg.Pool, max_age_s: float = 30.0) -> None:
        self.pool = pool
        self.max_age_s = max_age_s
        self._index: NearbyIndex | None = None
        self._built = 0.0

    async def current(self) -> NearbyIndex:
        if self._index is None or time.monotonic() - self._built > self.max_age_s:
            self._index = NearbyIndex(await recipients.registry(self.pool))
            self._built = time.monotonic()
        return self._index


async def take_broadcasts(
    pool: asyncpg.Pool, index: RegistryIndex, requests: Sequence[BroadcastRequested]
) -> int:
    """Returns how many messages to people were newly recorded."""
    owed = 0
    nearby = await index.current()
    async with pool.acquire() as connection, connection.transaction():
        for request in requests:
            if not await first_time(connection, CONSUMER, request.message_id):
                continue
            people = nearby.within(
                request.center.lat,
                request.center.lon,
                request.radius_m,
                {channel.value for channel in request.audience},
            )
            payload = {"text": request.text, "subject": request.requested_by}
            if request.alarm_id:
                payload["alarm_id"] = str(request.alarm_id)
            owed += await recipients.owe(connection, request.broadcast_id, people, payload)
            BROADCASTS.inc()
            log.info("broadcast", broadcast_id=str(request.broadcast_id), recipients=len(people))
    return owed


class BroadcastSender:
    """Sends what is owed, a bounded number at a time."""

    def __init__(
        self, pool: asyncpg.Pool, outbox: Outbox, adapter: ChannelAdapter, *, parallel: int = 20
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.adapter = adapter
        self.parallel = parallel
        self.wake = asyncio.Event()
        self.wake.set()  # on start: whatever a previous run left pending

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=5.0)
            self.wake.clear()
            try:
                while batch := await recipients.claim(self.pool, self.parallel, 60.0):
                    await asyncio.gather(*(self._send(owed) for owed in batch))
            except UNAVAILABLE as error:
                log.warning("broadcast_sender_db_error", error=type(error).__name__)
                await asyncio.sleep(1.0)
            except asyncpg.PostgresError:  # refused: a bug, not an outage; try again later
                log.exception("broadcast_sender_db_refused")
                await asyncio.sleep(1.0)

    async def _send(self, owed: recipients.OwedBroadcast) -> None:
        channel = NotificationChannel(owed.channel)
        ref = str(owed.broadcast_id)
        notification = Notification(
            notification_id=notification_id(channel, owed.recipient_id, ref),
            channel=channel,
            recipient=owed.recipient_id,
            subject=owed.payload.get("subject", "broadcast"),
            ref_id=owed.broadcast_id,
            text=owed.payload["text"],
            created_at=utcnow(),
        )
        detail: str | None = None
        try:
            await self.adapter.send(notification)
        except DeliveryFailed as error:
            detail = str(error)
        status = ReceiptStatus.failed if detail else ReceiptStatus.delivered
        BROADCAST_DELIVERIES.labels(status.value).inc()
        message = receipt(
            channel=channel,
            recipient=owed.recipient_id,
            ref_id=owed.broadcast_id,
            ref=ref,
            status=status,
            at=utcnow(),
            detail=detail,
        )
        async with self.pool.acquire() as connection, connection.transaction():
            await recipients.finish(connection, owed, status.value, detail)
            await self.outbox.put(connection, NOTIFY_RECEIPTS.name, ref, message)
