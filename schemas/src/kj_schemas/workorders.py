"""Work orders (工单) from dispatch to units, the events that answer them, and notices to the
command centre."""

from typing import Annotated, Self
from uuid import UUID

from pydantic import Field, model_validator

from kj_schemas.alarms import PriorityLevel
from kj_schemas.base import (
    INT4_MAX,
    Code,
    GeoPoint,
    LongText,
    Message,
    PlatformId,
    PositiveSeconds,
    RegionId,
    Seconds,
    ShortText,
    Timestamp,
    UnitId,
)
from kj_schemas.enums import (
    AlarmCategory,
    EventSource,
    NoticeKind,
    ResponseTier,
    WorkOrderAction,
    WorkOrderEventKind,
    WorkOrderRole,
)


class WorkOrder(Message):
    """An instruction to one unit on `dispatch.workorders` (key = unit id): go (`assign`), or
    stand down (`withdraw`, with the reason). The terminal drops repeats by `work_order_id`."""

    work_order_id: UUID
    action: WorkOrderAction
    alarm_id: UUID
    unit_id: UnitId
    platform_id: PlatformId
    role: WorkOrderRole = WorkOrderRole.primary
    category: AlarmCategory
    priority: PriorityLevel
    tier: ResponseTier
    target_seconds: PositiveSeconds
    scene: GeoPoint
    address: ShortText | None = None
    description: LongText | None = None
    reported_at: Timestamp
    issued_at: Timestamp
    eta_seconds: Seconds
    accept_within_seconds: PositiveSeconds
    reason: Code
    runner_up_unit_id: UnitId | None = None
    runner_up_eta_seconds: Seconds | None = None
    at_risk: bool = False
    withdraw_reason: Code | None = None

    @model_validator(mode="after")
    def _withdraw_says_why(self) -> Self:
        if self.action is WorkOrderAction.withdraw and self.withdraw_reason is None:
            raise ValueError("a withdrawn work order needs a withdraw_reason")
        return self


class WorkOrderEvent(Message):
    """A unit's answer to a work order, or its arrival detected from GPS, on `workorders.events`
    (key = unit id)."""

    work_order_id: UUID
    unit_id: UnitId
    kind: WorkOrderEventKind
    source: EventSource
    occurred_at: Timestamp  # when it happened, by the terminal's clock (or the gateway's)
    # when the terminal gateway received it: the acceptance deadline is judged by this, since a
    # terminal's clock may be wrong and the way from the gateway to dispatch may be held up
    received_at: Timestamp | None = None
    location: GeoPoint | None = None
    disposition_code: Code | None = None
    reason: Code | None = None

    @model_validator(mode="after")
    def _closing_and_rejecting_say_how(self) -> Self:
        if self.kind is WorkOrderEventKind.closed and self.disposition_code is None:
            raise ValueError("a closed event needs a disposition_code")
        if self.kind is WorkOrderEventKind.rejected and self.reason is None:
            raise ValueError("a rejected event needs a reason")
        return self


class CommandNotice(Message):
    """Something the command centre must know: a predicted miss, a shortfall of units, a
    coverage gap with a suggested move-up, an unresponsive unit. On `dispatch.notices`."""

    kind: NoticeKind
    region: RegionId
    at: Timestamp
    reason: Code
    alarm_id: UUID | None = None
    unit_id: UnitId | None = None
    platform_id: PlatformId | None = None
    suggested_unit_id: UnitId | None = None
    suggested_platform_id: PlatformId | None = None
    eta_seconds: Seconds | None = None
    target_seconds: Annotated[int, Field(strict=True, gt=0, le=INT4_MAX)] | None = None
