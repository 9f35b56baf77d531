"""Alarms (警情): as a 110 integration reports them, and as the alarm service publishes them."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

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
from kj_schemas.enums import AlarmCategory, AlarmStatus, ResponseTier

PriorityLevel = Annotated[int, Field(strict=True, ge=1, le=4, description="1 is the most urgent")]


class AlarmReport(Contract):
    """What a 110 command-centre integration sends: the body of `POST /v1/alarms`, or a record
    on `alarms.intake`. (source, source_alarm_id) identifies it; a repeat is not a new alarm."""

    schema_version: Literal[1] = 1
    source: SourceId
    source_alarm_id: SourceAlarmId
    reported_at: RecentTimestamp  # within a year before and a day after its receipt
    caller_phone: PhoneNumber | None = None
    location: GeoPoint
    address: ShortText | None = None
    category: AlarmCategory
    priority: PriorityLevel
    description: LongText | None = None


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

    alarm_id: UUID
    source: SourceId
    source_alarm_id: SourceAlarmId
    status: AlarmStatus
    at: Timestamp
    unit_id: UnitId | None = None
    work_order_id: UUID | None = None
    reason: Code | None = None
