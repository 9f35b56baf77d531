"""The terminal WebSocket protocol (`/v1/terminals/ws` on notify): what a vehicle terminal or the
officer app exchanges with the gateway, one JSON object per frame (decision 0135).

Terminal -> gateway: `ack` (a delivery arrived), `read` (the officer opened it), `event` (an
answer to a work order). Gateway -> terminal: `hello` once on connect, `work_order`
deliveries, `ok` and `error` replies. The gateway parses the inbound frames with these models;
the outbound ones describe what it sends (a unit test holds its frames to them)."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from kj_schemas.base import INT8_MAX, Code, Contract, GeoPoint, RecentTimestamp, UnitId
from kj_schemas.enums import WorkOrderAction, WorkOrderEventKind
from kj_schemas.workorders import WorkOrder

PATH = "/v1/terminals/ws"

# terminal_deliveries.seq is a bigint: a larger id is refused with its frame alone (issue 14: one
# such ack failed the whole batch of receipts it was recorded with)
DeliveryId = Annotated[
    int,
    Field(
        strict=True,
        gt=0,
        le=INT8_MAX,
        description="the gateway's number of one delivery to this unit, increasing",
    ),
]


class AckFrame(Contract):
    """The delivery arrived on the terminal: the gateway stops resending it."""

    type: Literal["ack"]
    delivery_id: DeliveryId


class ReadFrame(Contract):
    """The officer opened the delivery."""

    type: Literal["read"]
    delivery_id: DeliveryId


class Answer(Contract):
    """A unit's answer to a work order, as the terminal sends it (over the socket or HTTP)."""

    kind: WorkOrderEventKind = Field(
        description="`accepted`, `en_route`, `on_scene`, `closed` (with `disposition_code`), "
        "`rejected` (with `reason`)"
    )
    # lets a terminal resend the same answer safely
    event_id: UUID | None = Field(
        None, description="the terminal's id of this answer: a resend with it counts once"
    )
    # when the officer answered, by the terminal's clock (within a year before and a day after
    # now); the gateway adds when it received the answer
    occurred_at: RecentTimestamp | None = Field(
        None, description="when the officer answered, by the terminal's clock"
    )
    location: GeoPoint | None = Field(None, description="where the unit was")
    disposition_code: Code | None = Field(
        None, description="how the call ended; required with `closed`"
    )
    reason: Code | None = Field(None, description="why; required with `rejected`")


class AnswerFrame(Answer):
    """An answer to a work order; the gateway replies `ok` (with the `event_id`) or `error`."""

    type: Literal["event"]
    work_order_id: UUID = Field(description="the work order answered")


InboundFrame = Annotated[AckFrame | ReadFrame | AnswerFrame, Field(discriminator="type")]
INBOUND = TypeAdapter(InboundFrame)


def parse_frame(raw: str | bytes) -> AckFrame | ReadFrame | AnswerFrame:
    """Raises pydantic.ValidationError on anything else."""
    return INBOUND.validate_json(raw)


class HelloFrame(Contract):
    """Sent once when the socket is accepted; then every delivery not yet acknowledged follows,
    in order."""

    type: Literal["hello"]
    unit_id: UnitId


class WorkOrderFrame(Contract):
    """One delivery of a work order. Acknowledge it with `ack` and its `delivery_id`; until then
    it is sent again on every reconnect. Drop repeats by `work_order_id` and `action`."""

    type: Literal["work_order"]
    delivery_id: DeliveryId
    work_order_id: UUID
    action: WorkOrderAction
    withdrawn: bool = Field(description="the order was withdrawn since: stand down")
    work_order: WorkOrder = Field(description="the order as dispatch issued it")


class OkFrame(Contract):
    """An inbound frame was taken."""

    type: Literal["ok"]
    ref: str = Field(description="what the frame was about: the work order's id")
    what: Literal["event"]
    event_id: UUID | None = Field(None, description="the answer's id, as recorded")


class ErrorFrame(Contract):
    """An inbound frame was refused; the socket stays open."""

    type: Literal["error"]
    reason: Code = Field(
        description="`bad_frame`, `frame_not_utf8_json`, `rate_limited`, `unavailable`, or an "
        "answer's refusal: `not_your_work_order`, `withdrawn`, `disposition_required`, "
        "`reason_required`"
    )
    detail: str | None = Field(None, description="for a person")
    ref: str | None = Field(None, description="the work order the refused frame was about")
    retry_after_s: float | None = Field(None, description="resend after this many seconds")
    event_id: UUID | None = Field(
        None, description="with `unavailable`: resend the answer with this event_id"
    )


OutboundFrame = Annotated[
    HelloFrame | WorkOrderFrame | OkFrame | ErrorFrame, Field(discriminator="type")
]
OUTBOUND = TypeAdapter(OutboundFrame)

# the close codes a terminal may see, and what they mean
CLOSE_CODES: dict[int, str] = {
    1001: "the gateway is shutting down: reconnect (another replica takes the socket)",
    1008: "policy: no valid device token or ticket for this unit, or too many frames",
    1009: "a frame larger than the gateway's limit",
    1011: "the gateway failed: reconnect",
    4000: "replaced by a newer connection of the same unit",
}
