"""May this unit answer this work order, and with what event. Plain rules over plain data."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from kj_notify.domain.frames import Answer
from kj_schemas.enums import EventSource, WorkOrderEventKind
from kj_schemas.workorders import WorkOrderEvent


@dataclass(frozen=True)
class HeldOrder:
    """What the gateway knows of a work order it delivered."""

    work_order_id: UUID
    unit_id: str
    withdrawn: bool


class Refused(Exception):
    """An answer the gateway will not pass on; `reason` is a short code, `status` an HTTP code."""

    def __init__(self, reason: str, detail: str, status: int) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status


def check_answer(held: HeldOrder | None, unit_id: str, answer: Answer) -> None:
    if held is None or held.unit_id != unit_id:
        raise Refused("not_your_work_order", "this unit holds no such work order", 403)
    if held.withdrawn and answer.kind is not WorkOrderEventKind.rejected:
        raise Refused("withdrawn", "this work order was withdrawn; stand down", 409)
    if answer.kind is WorkOrderEventKind.closed and answer.disposition_code is None:
        raise Refused("disposition_required", "a closed answer needs a disposition_code", 422)
    if answer.kind is WorkOrderEventKind.rejected and answer.reason is None:
        raise Refused("reason_required", "a rejected answer needs a reason", 422)


def event_for(held: HeldOrder, answer: Answer, received_at: datetime) -> WorkOrderEvent:
    """The event passed on: when the officer answered by the terminal's clock (its
    `occurred_at`, else the gateway's receipt), and when the gateway received it, by which
    dispatch judges the acceptance deadline (a terminal's clock may be wrong, and the way to
    dispatch may be held up by a broker or database outage)."""
    return WorkOrderEvent(
        message_id=answer.event_id or uuid4(),
        work_order_id=held.work_order_id,
        unit_id=held.unit_id,
        kind=answer.kind,
        source=EventSource.terminal,
        occurred_at=answer.occurred_at or received_at,
        received_at=received_at,
        location=answer.location,
        disposition_code=answer.disposition_code,
        reason=answer.reason,
    )
