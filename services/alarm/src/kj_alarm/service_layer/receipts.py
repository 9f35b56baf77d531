"""Delivery receipts from notify (`notify.receipts`) on each alarm's timeline: its work order
delivered to the unit's terminal, read by the officer, or not acknowledged in time. Notify
owns the deliveries, the alarm service owns the timeline (decision 0043). Idempotent: the
receipt's message id is its timeline entry's event id."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from kj_alarm.adapters import alarm_store as store
from kj_alarm.service_layer.deps import Deps
from kj_schemas.enums import NotificationChannel, ReceiptStatus
from kj_schemas.notify import DeliveryReceipt

Entry = tuple[UUID, str, datetime, str | None, UUID | None, dict[str, Any], UUID]


def timeline_entry(receipt: DeliveryReceipt) -> Entry | None:
    """The timeline entry of a terminal's receipt for an alarm's work order, or of the 12345
    hotline's answer to a diverted call (decision 0116); None for any other receipt (a
    broadcast, a status callback)."""
    if receipt.alarm_id is None:
        return None
    if receipt.channel is NotificationChannel.hotline:
        acknowledged = receipt.status is ReceiptStatus.delivered
        return (
            receipt.alarm_id,
            "hotline_acknowledged" if acknowledged else "hotline_failed",
            receipt.at,
            None,
            None,
            {("ticket_id" if acknowledged else "cause"): receipt.detail} if receipt.detail else {},
            receipt.message_id,
        )
    if receipt.channel is not NotificationChannel.terminal:
        return None
    detail: dict[str, Any] = {}
    if receipt.action is not None:
        detail["action"] = str(receipt.action)
    if receipt.delivery_id is not None:
        detail["delivery_id"] = receipt.delivery_id
    if receipt.detail is not None:
        detail["cause"] = receipt.detail
    return (
        receipt.alarm_id,
        f"terminal_{receipt.status.value}",
        receipt.at,
        receipt.recipient,
        receipt.ref_id,
        detail,
        receipt.message_id,
    )


async def record_receipts(receipts: Sequence[DeliveryReceipt], deps: Deps) -> int:
    """Put the receipts of a batch on their alarms' timelines in one statement; a receipt seen
    before, or for an alarm this service does not know, is skipped. Returns how many were new."""
    entries = [entry for receipt in receipts if (entry := timeline_entry(receipt)) is not None]
    if not entries:
        return 0
    async with deps.pool.acquire() as connection:
        return await store.add_timeline_once(connection, entries)
