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
    work_order_id: UUID = Field(description="drop repeats by it; answers name it")
    action: WorkOrderAction = Field(
        description="`assign`: go to the call; `withdraw`: stand down; `reposition`: patrol at "
        "a post"
    )
    # None: a post's order (a reposition, or its withdrawal)
    alarm_id: UUID | None = Field(None, description="the call's alarm; absent for a post's order")
    unit_id: UnitId = Field(description="the unit this order is for")
    platform_id: PlatformId = Field(description="the unit's patrol platform (警务平台)")
    role: WorkOrderRole = Field(
        WorkOrderRole.primary, description="`primary`, or `backup` beside another unit"
    )
    category: AlarmCategory | None = Field(None, description="the call's category code")
    priority: PriorityLevel | None = Field(None, description="the call's priority, 1 to 4")
    tier: ResponseTier | None = Field(None, description="the scene's response tier")
    target_seconds: PositiveSeconds | None = Field(
        None, description="the tier's arrival target, seconds from the report"
    )
    scene: GeoPoint = Field(description="where to go: the call's place, or the post's")
    post_id: UnitId | None = Field(None, description="the post of a reposition")
    patrol_radius_m: Annotated[int, Field(strict=True, ge=10, le=5000)] | None = Field(
        None, description="how far around the post to patrol"
    )
    address: ShortText | None = Field(None, description="the scene as the caller said it")
    description: LongText | None = Field(None, description="what the caller said")
    reported_at: Timestamp | None = Field(None, description="when the 110 centre took the call")
    issued_at: Timestamp = Field(description="when dispatch issued this order")
    eta_seconds: Seconds = Field(description="dispatch's estimate of the drive, in seconds")
    accept_within_seconds: PositiveSeconds = Field(
        description="answer `accepted` within this, or the call goes to another unit"
    )
    reason: Code = Field(description="why this unit: e.g. `closest_eta`")
    runner_up_unit_id: UnitId | None = Field(None, description="the next-best unit")
    runner_up_eta_seconds: Seconds | None = Field(None, description="the next-best unit's ETA")
    at_risk: bool = Field(False, description="the target will likely be missed")
    withdraw_reason: Code | None = Field(
        None,
        description="why a `withdraw`: e.g. `alarm_cancelled`, `scene_moved`, `off_duty`",
    )

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

    work_order_id: UUID = Field(description="the work order answered")
    unit_id: UnitId = Field(description="the unit answering")
    kind: WorkOrderEventKind = Field(
        description="`accepted`, `en_route`, `on_scene`, `closed` (with `disposition_code`), "
        "`rejected` (with `reason`)"
    )
    source: EventSource = Field(
        description="`terminal` (the unit answered), `gps` (arrival detected), `dispatch` "
        "(decided by dispatch, e.g. a timeout)"
    )
    # when it happened, by the terminal's clock (or the gateway's)
    occurred_at: Timestamp = Field(description="when it happened, by the terminal's clock")
    # when the terminal gateway received it: the acceptance deadline is judged by this, since a
    # terminal's clock may be wrong and the way from the gateway to dispatch may be held up
    received_at: Timestamp | None = Field(None, description="when the terminal gateway received it")
    # set when the event is about a post's order: `on_scene` then means the unit reached its
    # post (detected from GPS by patrol tracking); no alarm is concerned
    post_id: UnitId | None = Field(None, description="the post, for a post's order")
    location: GeoPoint | None = Field(None, description="where the unit was")
    disposition_code: Code | None = Field(
        None, description="how the call ended; required with `closed`"
    )
    reason: Code | None = Field(None, description="why; required with `rejected`")

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
