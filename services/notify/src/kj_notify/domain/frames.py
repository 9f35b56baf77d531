"""What travels over the terminal WebSocket. The frames are contracts in kj_schemas.terminal
(documented in schemas/asyncapi.yaml, decision 0135); here the gateway builds what it sends:
`work_order` deliveries, `ok` and `error` replies."""

from typing import Any
from uuid import UUID

from kj_schemas.terminal import (
    AckFrame,
    Answer,
    AnswerFrame,
    DeliveryId,
    InboundFrame,
    ReadFrame,
    parse_frame,
)

__all__ = [
    "AckFrame",
    "Answer",
    "AnswerFrame",
    "DeliveryId",
    "InboundFrame",
    "ReadFrame",
    "delivery_frame",
    "error_frame",
    "ok_frame",
    "parse_frame",
]


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
