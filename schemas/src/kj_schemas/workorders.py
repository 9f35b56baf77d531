"""Work orders (工单) from dispatch to units, the events that answer them, and notices to the
command centre."""

from typing import Annotated, Literal, Self
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
from kj_schemas.codec import register_upcaster
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
    """An instruction to one unit on `dispatch.workorders` (key = unit id): go to a call
    (`assign`), stand down (`withdraw`, with the reason), or go and patrol at a post
    (`reposition`: `post_id`, the post as `scene`, no alarm). The terminal drops repeats by
    `work_order_id`.

    Version 2 (decision 0063) added `reposition`: the alarm's fields are absent from a post's
    orders, so they became optional; a version-1 order (always a call's) reads as version 2
    unchanged."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    work_order_id: UUID
    action: WorkOrderAction
    alarm_id: UUID | None = None  # None: a post's order (a reposition, or its withdrawal)
    unit_id: UnitId
    platform_id: PlatformId
    role: WorkOrderRole = WorkOrderRole.primary
    category: AlarmCategory | None = None
    priority: PriorityLevel | None = None
    tier: ResponseTier | None = None
    target_seconds: PositiveSeconds | None = None
    scene: GeoPoint  # the call's place, or the post's
    post_id: UnitId | None = None
    patrol_radius_m: Annotated[int, Field(strict=True, ge=10, le=5000)] | None = None
    address: ShortText | None = None
    description: LongText | None = None
    reported_at: Timestamp | None = None
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
        if self.post_id is not None:
            if self.alarm_id is not None or self.action is WorkOrderAction.assign:
                raise ValueError("a post's order has no alarm and is a reposition or withdraw")
        elif self.action is WorkOrderAction.reposition:
            raise ValueError("a reposition needs its post_id")
        else:
            missing = [
                name
                for name in ("alarm_id", "category", "priority", "tier", "target_seconds")
                if getattr(self, name) is None
            ]
            if missing or self.reported_at is None:
                raise ValueError(
                    f"a call's work order needs {', '.join(missing or ['reported_at'])}"
                )
        return self

    @property
    def for_post(self) -> bool:
        """A post's order (a reposition or its withdrawal), not a call's."""
        return self.post_id is not None


# a version-1 order is a call's: every field it has means the same in version 2
register_upcaster(WorkOrder, 1, lambda data: data)


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
    # set when the event is about a post's order: `on_scene` then means the unit reached its
    # post (detected from GPS by patrol tracking); no alarm is concerned
    post_id: UnitId | None = None
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
