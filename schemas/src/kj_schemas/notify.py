"""What the notify service sends, to whom, and the receipts that say it arrived."""

from typing import Annotated, Self
from uuid import UUID

from pydantic import Field, model_validator

from kj_schemas.base import (
    INT8_MAX,
    Code,
    GeoPoint,
    LongText,
    Message,
    ShortText,
    Timestamp,
)
from kj_schemas.enums import NotificationChannel, ReceiptStatus, WorkOrderAction

Recipient = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")]


class Notification(Message):
    """One message to one recipient over one channel. `ref_id` names what it is about (a work
    order, an alarm, a broadcast) so receipts and repeats can be matched."""

    notification_id: UUID
    channel: NotificationChannel
    recipient: Recipient
    subject: Code
    ref_id: UUID
    text: LongText
    created_at: Timestamp


class DeliveryReceipt(Message):
    """Delivered, read (when the terminal says so), or failed (with the cause).

    A work order's receipt from a terminal also names the alarm it serves, which of the work
    order's messages it was (assign or withdraw) and the terminal's delivery number, so the
    alarm service can put it on the alarm's timeline (decision 0043)."""

    notification_id: UUID
    channel: NotificationChannel
    recipient: Recipient
    ref_id: UUID
    status: ReceiptStatus
    at: Timestamp
    detail: ShortText | None = None
    alarm_id: UUID | None = None
    action: WorkOrderAction | None = None
    delivery_id: Annotated[int, Field(strict=True, ge=1, le=INT8_MAX)] | None = None

    @model_validator(mode="after")
    def _failure_says_why(self) -> Self:
        if self.status is ReceiptStatus.failed and self.detail is None:
            raise ValueError("a failed receipt needs a detail")
        return self


class BroadcastRequested(Message):
    """A task for every registered taxi driver (的哥警务) or volunteer (义警) near an incident."""

    broadcast_id: UUID
    audience: Annotated[list[NotificationChannel], Field(min_length=1, max_length=2)]
    center: GeoPoint
    radius_m: Annotated[float, Field(strict=True, gt=0, le=20_000)]
    text: LongText
    alarm_id: UUID | None = None
    requested_by: Code
    requested_at: Timestamp

    @model_validator(mode="after")
    def _audience_is_people_nearby(self) -> Self:
        allowed = {NotificationChannel.taxi, NotificationChannel.volunteer}
        if not set(self.audience) <= allowed:
            raise ValueError("a broadcast goes to taxi and/or volunteer recipients only")
        return self
