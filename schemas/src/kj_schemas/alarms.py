"""Alarms (警情): as a 110 integration reports them, and as the alarm service publishes them."""

from typing import Annotated, Any, Literal, Self
from uuid import UUID

import orjson
from pydantic import Discriminator, Field, Tag, TypeAdapter, model_validator

from kj_schemas.base import (
    INT4_MAX,
    Code,
    Contract,
    GeoPoint,
    LongText,
    Message,
    PhoneNumber,
    PositiveSeconds,
    RecentTimestamp,
    RegionId,
    ShortText,
    SourceAlarmId,
    SourceId,
    Timestamp,
    UnitId,
)
from kj_schemas.enums import AlarmCategory, AlarmStatus, CancelReason, ResponseTier

PriorityLevel = Annotated[int, Field(strict=True, ge=1, le=4, description="1 is the most urgent")]
# the integration's own id of an update or a cancel: a repeat of it is the same update (issue 19)
UpdateId = SourceAlarmId
MoreCallers = Annotated[int, Field(strict=True, ge=1, le=1000)]
SOURCE = "the integration's name, as registered (`kj-admin integrations add`)"
SOURCE_ALARM_ID = "the alarm's id in the 110 system: with `source`, it identifies the alarm"
UPDATE_ID = "the integration's own id of this update or cancel: a repeat is the same one"
# the withdraw reasons dispatch gives a unit when the integration changed the alarm (0115)
ALARM_CANCELLED = "alarm_cancelled"  # the alarm was cancelled: stand down
SCENE_MOVED = "scene_moved"  # the scene moved beyond the set distance: planned again
SCENE_CORRECTED = "scene_corrected"  # moved less: the same unit gets a new order, new place


class AlarmReport(Contract):
    """What a 110 command-centre integration sends: the body of `POST /v1/alarms`, or a record
    on `alarms.intake`. (source, source_alarm_id) identifies it; a repeat is not a new alarm."""

    schema_version: Literal[1] = 1
    source: SourceId = Field(description=SOURCE)
    source_alarm_id: SourceAlarmId = Field(description=SOURCE_ALARM_ID)
    # within a year before and a day after its receipt
    reported_at: RecentTimestamp = Field(
        description="when the 110 centre took the call, ISO 8601 with an offset; within a year "
        "before and a day after its receipt"
    )
    caller_phone: PhoneNumber | None = Field(
        None, description="the caller's number, digits with an optional leading +"
    )
    location: GeoPoint = Field(description="the scene, WGS84")
    address: ShortText | None = Field(None, description="the scene as the caller said it")
    category: AlarmCategory = Field(
        description="what happened; the 12345 codes are diverted to the hotline"
    )
    priority: PriorityLevel = Field(description="1 (most urgent) to 4")
    description: LongText | None = Field(None, description="what the caller said")


class AlarmChanges(Contract):
    """What a 110 integration learns about an alarm after reporting it: the body of
    `POST /v1/alarms/{alarm_id}/updates`. At least one change; `update_id` makes a repeat the
    same update (its first answer again)."""

    update_id: UpdateId = Field(description=UPDATE_ID)
    description: LongText | None = Field(
        None, description="supplementary: added to what the alarm says, never replacing it"
    )
    priority: PriorityLevel | None = Field(None, description="the new priority, 1 to 4")
    location: GeoPoint | None = Field(
        None,
        description="the corrected scene: the tier is classified again, and the call is "
        "planned again when it moved beyond the set distance",
    )
    address: ShortText | None = Field(None, description="the corrected address")
    more_callers: MoreCallers | None = Field(
        None, description="how many further callers reported the same incident"
    )

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if all(
            getattr(self, name) is None
            for name in ("description", "priority", "location", "address", "more_callers")
        ):
            raise ValueError(
                "an update changes at least one of description, priority, location, address, "
                "more_callers"
            )
        return self


class AlarmUpdate(AlarmChanges):
    """The same update on `alarms.intake`, naming the alarm by its source's id."""

    schema_version: Literal[1] = 1
    source: SourceId = Field(description=SOURCE)
    source_alarm_id: SourceAlarmId = Field(description="the alarm's id in the 110 system")


class CancelRequest(Contract):
    """The body of `POST /v1/alarms/{alarm_id}/cancel`: every open work order is withdrawn and
    the units are told; the alarm is closed with the reason."""

    update_id: UpdateId = Field(description=UPDATE_ID)
    reason: CancelReason = Field(description="why the alarm is cancelled")
    note: ShortText | None = Field(None, description="a free note, kept on the timeline")


class AlarmCancel(CancelRequest):
    """The same cancel on `alarms.intake`, naming the alarm by its source's id."""

    schema_version: Literal[1] = 1
    source: SourceId = Field(description=SOURCE)
    source_alarm_id: SourceAlarmId = Field(description="the alarm's id in the 110 system")


def _intake_kind(value: Any) -> str:
    if isinstance(value, dict) and "update_id" in value:
        return "cancel" if "reason" in value else "update"
    return "report"


IntakeRecord = Annotated[
    Annotated[AlarmReport, Tag("report")]
    | Annotated[AlarmUpdate, Tag("update")]
    | Annotated[AlarmCancel, Tag("cancel")],
    Discriminator(_intake_kind),
]
_INTAKE = TypeAdapter(IntakeRecord)


def decode_intake(raw: bytes | str) -> AlarmReport | AlarmUpdate | AlarmCancel:
    """A record of `alarms.intake`: a report, or an update or cancel of one (by `update_id`,
    and `reason` for a cancel). Raises pydantic.ValidationError or ValueError."""
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("a message is a JSON object")
    return _INTAKE.validate_python(data)


class Amendment(Contract):
    """On a repeated `AlarmAccepted`: the alarm changed after it was accepted (issue 19). Its
    facts are the alarm's facts now; `replan` when the scene moved beyond the set distance
    (dispatch plans the call again), `cancelled` when the integration cancelled it (dispatch
    withdraws every open work order and tells the units)."""

    update_id: UpdateId
    at: Timestamp
    moved_m: Annotated[float, Field(strict=True, ge=0, le=40_100_000)] | None = None
    replan: bool = False
    cancelled: CancelReason | None = None


class _AlarmFacts(Message):
    alarm_id: UUID
    region: RegionId
    source: SourceId
    source_alarm_id: SourceAlarmId
    reported_at: Timestamp
    received_at: Timestamp
    location: GeoPoint
    category: AlarmCategory
    priority: PriorityLevel


class AlarmAccepted(_AlarmFacts):
    """An alarm taken in for dispatch, with its response tier and target. Keyed by region, so one
    dispatch process owns every alarm of a region.

    It carries no caller's phone number (decision 0077): dispatch never calls the caller, and
    the number stays with the services that do (intake, the 110 callbacks, the 12345 hand-off
    on `AlarmDiverted`). A message written before carries an optional `caller_phone`: reading
    it drops the number, so no consumer keeps it (dispatch stores the message it read)."""

    address: ShortText | None = None
    description: LongText | None = None
    tier: ResponseTier
    target_seconds: PositiveSeconds
    # set when the alarm changed after it was first accepted (an update or a cancel)
    amendment: Amendment | None = None

    @model_validator(mode="before")
    @classmethod
    def _forget_caller_phone(cls, data: Any) -> Any:
        if isinstance(data, dict) and "caller_phone" in data:
            return {key: value for key, value in data.items() if key != "caller_phone"}
        return data


class AlarmMerged(_AlarmFacts):
    """A repeat call about an open incident: recorded and counted, never dispatched twice."""

    merged_into: UUID
    callers: Annotated[int, Field(strict=True, ge=2, le=INT4_MAX)]


class AlarmDiverted(_AlarmFacts):
    """A non-police call (非警务警情) handed to the 12345 government hotline."""

    hotline: Literal["12345"] = "12345"
    caller_phone: PhoneNumber | None = None
    address: ShortText | None = None
    description: LongText | None = None


class AlarmStatusChanged(Message):
    """One step of an alarm's story, for the 110 integration that sent it (status callbacks)."""

    alarm_id: UUID = Field(description="the alarm's id here, as `POST /v1/alarms` answered")
    source: SourceId = Field(description=SOURCE)
    source_alarm_id: SourceAlarmId = Field(description="the alarm's id in the 110 system")
    status: AlarmStatus = Field(description="the alarm's status after this step")
    at: Timestamp = Field(description="when the step happened")
    unit_id: UnitId | None = Field(None, description="the unit concerned, when one is")
    work_order_id: UUID | None = Field(None, description="the unit's work order, when one is")
    reason: Code | None = Field(
        None,
        description="why: `updated`, `unmerged`, a cancel's reason, or the disposition code "
        "a unit closed it with",
    )
    # the integration's update or cancel this step answers (issue 19)
    update_id: UpdateId | None = Field(
        None, description="the integration's update or cancel this step answers"
    )
