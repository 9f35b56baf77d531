"""Delivery receipts: one deterministic notification id per thing delivered, so a repeated
receipt is the same message (consumers drop it by message id)."""

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from kj_schemas.enums import NotificationChannel, ReceiptStatus, WorkOrderAction
from kj_schemas.notify import DeliveryReceipt

_NAMESPACE = uuid5(NAMESPACE_URL, "https://kuaijing.example/notify")


def notification_id(channel: NotificationChannel, recipient: str, ref: str) -> UUID:
    return uuid5(_NAMESPACE, f"{channel.value}:{recipient}:{ref}")


def receipt(
    *,
    channel: NotificationChannel,
    recipient: str,
    ref_id: UUID,
    ref: str,
    status: ReceiptStatus,
    at: datetime,
    detail: str | None = None,
    alarm_id: UUID | None = None,
    action: WorkOrderAction | None = None,
    delivery_id: int | None = None,
) -> DeliveryReceipt:
    notification = notification_id(channel, recipient, ref)
    return DeliveryReceipt(
        message_id=uuid5(notification, status.value),
        notification_id=notification,
        channel=channel,
        recipient=recipient,
        ref_id=ref_id,
        status=status,
        at=at,
        detail=detail[:200] if detail else None,
        alarm_id=alarm_id,
        action=action,
        delivery_id=delivery_id,
    )
