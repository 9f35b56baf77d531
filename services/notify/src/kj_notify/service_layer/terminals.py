"""Handlers for the terminal side: keep work orders for their units, record receipts (the
alarm service puts them on the alarm's timeline from `notify.receipts`), pass answers on.
Each runs in one transaction with the outbox, so nothing is half done."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg
import stamina
import structlog

from kj_notify.adapters import deliveries
from kj_notify.domain.answers import Refused, check_answer, event_for
from kj_notify.domain.frames import Answer
from kj_notify.metrics import ANSWERS, DELIVERY_SECONDS
from kj_notify.service_layer.receipts import receipt
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.idempotency import first_time
from kj_runtime.outbox import Outbox
from kj_schemas.base import utcnow
from kj_schemas.enums import NotificationChannel, ReceiptStatus, WorkOrderAction
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.topics import NOTIFY_RECEIPTS, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrder

log = structlog.get_logger(__name__)

# what the gateway's sockets deal in (entrypoints/hub.py): a delivery, and the PostgreSQL channel
# a replica announces new ones on
Delivery = deliveries.Delivery
NEW_DELIVERY_CHANNEL = deliveries.NEW_DELIVERY_CHANNEL
SERVICE = "notify"
WORKORDERS_CONSUMER = "notify-workorders"
ANSWERS_CONSUMER = "notify-answers"


async def take_work_orders(
    pool: asyncpg.Pool,
    outbox: Outbox,
    orders: Sequence[WorkOrder],
    *,
    replica: str,
    on_stored: Callable[[list[deliveries.Delivery]], None] | None = None,
) -> list[deliveries.Delivery]:
    """Store each work order for its unit in the batch's transaction, with the message ids
    seen; returns the new deliveries, in order. `on_stored` gets them as soon as they are
    written, before the COMMIT (whose WAL flush is most of the time spent here), so they can
    be pushed while it runs; see Hub.push_before_commit for why that keeps every promise. A
    record that is no work order, or whose key is not its unit, never reaches here: the consume
    loop dead-letters it."""
    async with pool.acquire() as connection, connection.transaction():
        stored = await deliveries.store(connection, WORKORDERS_CONSUMER, list(orders))
        if on_stored is not None and stored:
            on_stored(stored)  # sent while the rest of the transaction runs
        await deliveries.withdraw(connection, stored)
        await deliveries.announce(connection, stored, replica)
        return stored


@dataclass(frozen=True)
class Receipt:
    """A terminal said it has a delivery (delivered) or the officer opened it (read)."""

    unit_id: str
    delivery_id: int
    status: ReceiptStatus


async def acknowledge(pool: asyncpg.Pool, outbox: Outbox, receipts: Sequence[Receipt]) -> int:
    """Record a batch of receipts in one transaction; ones that are not the unit's own delivery
    or were already recorded are ignored. Returns how many were new."""
    now = utcnow()
    latencies: list[float] = []
    recorded = 0
    async with pool.acquire() as connection, connection.transaction():
        messages: list[tuple[str, DeliveryReceipt]] = []
        for status in (ReceiptStatus.delivered, ReceiptStatus.read):
            said = [(r.unit_id, r.delivery_id) for r in receipts if r.status is status]
            if not said:
                continue
            column = "read_at" if status is ReceiptStatus.read else "delivered_at"
            for row in await deliveries.mark(connection, said, column):
                recorded += 1
                message = receipt(
                    channel=NotificationChannel.terminal,
                    recipient=row["unit_id"],
                    ref_id=row["work_order_id"],
                    ref=f"{row['work_order_id']}:{row['action']}",
                    status=status,
                    at=now,
                    alarm_id=row["alarm_id"],
                    action=WorkOrderAction(row["action"]),
                    delivery_id=row["seq"],
                )
                messages.append((str(row["work_order_id"]), message))
                if status is ReceiptStatus.delivered:
                    latencies.append(max((now - row["issued_at"]).total_seconds(), 0.0))
        await outbox.put_many(connection, NOTIFY_RECEIPTS.name, messages)
    for seconds in latencies:
        DELIVERY_SECONDS.observe(seconds)
    return recorded


async def fail_overdue(pool: asyncpg.Pool, outbox: Outbox) -> int:
    """A failed receipt for each work order its terminal did not acknowledge in time."""
    now = utcnow()
    async with pool.acquire() as connection, connection.transaction():
        rows = await deliveries.mark_overdue(connection)
        messages: list[tuple[str, DeliveryReceipt]] = []
        for row in rows:
            detail = f"terminal did not acknowledge within {row['window_s']} s"
            message = receipt(
                channel=NotificationChannel.terminal,
                recipient=row["unit_id"],
                ref_id=row["work_order_id"],
                ref=f"{row['work_order_id']}:{row['action']}",
                status=ReceiptStatus.failed,
                at=now,
                detail=detail,
                alarm_id=row["alarm_id"],
                action=WorkOrderAction(row["action"]),
                delivery_id=row["seq"],
            )
            messages.append((str(row["work_order_id"]), message))
        await outbox.put_many(connection, NOTIFY_RECEIPTS.name, messages)
    return len(rows)


async def answer(
    pool: asyncpg.Pool,
    outbox: Outbox,
    *,
    unit_id: str,
    work_order_id: UUID,
    answer: Answer,
    received_at: datetime,
    keep_for_s: float = 0.0,
) -> UUID:
    """Pass a unit's answer on as a WorkOrderEvent, received by the gateway at `received_at`;
    raises Refused when it may not answer. Returns the event's id (the same one again for a
    repeated answer).

    The gateway keeps the answer through a database restart: while PostgreSQL does not answer
    it is tried again, with backoff, for `keep_for_s`; then the `UNAVAILABLE` error is raised
    and the terminal is told to resend (with the event id it is given here, so an answer
    that did commit before the connection broke is not passed on twice)."""
    if answer.event_id is None:
        answer = answer.model_copy(update={"event_id": uuid4()})
    if keep_for_s <= 0:
        return await _answer_once(pool, outbox, unit_id, work_order_id, answer, received_at)
    async for attempt in stamina.retry_context(
        on=UNAVAILABLE,
        attempts=None,
        timeout=keep_for_s,
        wait_initial=0.1,
        wait_max=1.0,
        wait_jitter=0.1,
    ):
        with attempt:
            return await _answer_once(pool, outbox, unit_id, work_order_id, answer, received_at)
    raise AssertionError("unreachable: stamina raises once its time is up")


async def _answer_once(
    pool: asyncpg.Pool,
    outbox: Outbox,
    unit_id: str,
    work_order_id: UUID,
    answer: Answer,
    received_at: datetime,
) -> UUID:
    async with pool.acquire() as connection, connection.transaction():
        held = await deliveries.held(connection, work_order_id)
        try:
            check_answer(held, unit_id, answer)
        except Refused as refused:
            ANSWERS.labels(refused.reason).inc()
            raise
        assert held is not None
        event = event_for(held, answer, received_at)
        new = await first_time(connection, ANSWERS_CONSUMER, event.message_id)
        if new:
            await outbox.put(connection, WORKORDERS_EVENTS.name, unit_id, event)
    ANSWERS.labels("accepted" if new else "repeat").inc()  # once committed
    return event.message_id


async def unacknowledged(pool: asyncpg.Pool, unit_id: str) -> list[deliveries.Delivery]:
    """What a terminal that (re)connects is owed: its deliveries not acknowledged yet."""
    return await deliveries.unacknowledged(pool, unit_id)


async def backlog(pool: asyncpg.Pool) -> int:
    """How many deliveries wait for their terminals, for the gauge."""
    return await deliveries.backlog(pool)
