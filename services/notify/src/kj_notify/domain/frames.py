"""What travels over the terminal WebSocket, as plain models. Terminal -> gateway: `ack` (a
delivery arrived), `read` (the officer opened it), `event` (an answer). Gateway -> terminal:
`work_order` deliveries, `ok` and `error` replies."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from kj_schemas.base import INT8_MAX, Code, Contract, GeoPoint, RecentTimestamp
from kj_schemas.enums import WorkOrderEventKind

# terminal_deliveries.seq is a bigint: a larger id is refused with its frame alone (issue 14: one
# such ack failed the whole batch of receipts it was recorded with)
DeliveryId = Annotated[int, Field(strict=True, gt=0, le=INT8_MAX)]


class AckFrame(Contract):
    type: Literal["ack"]
    delivery_id: DeliveryId


class ReadFrame(Contract):
    type: Literal["read"]
    delivery_id: DeliveryId


class Answer(Contract):
    """A unit's answer to a work order, as the terminal sends it (over the socket or HTTP)."""

    kind: WorkOrderEventKind
    event_id: UUID | None = None  # lets a terminal resend the same answer safely
    # when the officer answered, by the terminal's clock (within a year before and a day after
    # now); the gateway adds when it received the answer
    occurred_at: RecentTimestamp | None = None
    location: GeoPoint | None = None
    disposition_code: Code | None = None
    reason: Code | None = None


class AnswerFrame(Answer):
    type: Literal["event"]
    work_order_id: UUID


InboundFrame = Annotated[AckFrame | ReadFrame | AnswerFrame, Field(discriminator="type")]
INBOUND = TypeAdapter(InboundFrame)


def parse_frame(raw: str | bytes) -> AckFrame | ReadFrame | AnswerFrame:
    """Raises pydantic.ValidationError on anything else."""
    return INBOUND.validate_json(raw)


def delivery_frame(
    *,
    delivery_id: int,
    work_order_id: UUID,
    action: str,
    withdrawn: bool,
    work_order: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": "work_order",
        "delivery_id": delivery_id,
        "work_order_id": str(work_order_id),
        "action": action,
        "withdrawn": withdrawn,
        "work_order": work_order,
    }


def error_frame(reason: str, detail: str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    """`extra`: e.g. `retry_after_s` and `event_id` when the terminal should resend its answer."""
    frame: dict[str, Any] = {"type": "error", "reason": reason, "detail": detail}
    if ref is not None:
        frame["ref"] = ref
    frame.update(extra)
    return frame


def ok_frame(ref: str, what: str) -> dict[str, Any]:
    return {"type": "ok", "ref": ref, "what": what}
