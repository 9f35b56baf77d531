"""The shapes of the HTTP answers, as the OpenAPI document publishes them."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from kj_schemas.base import Code, GeoPoint
from kj_schemas.enums import AlarmCategory, AlarmStatus, ResponseTier


class IntakeAnswer(BaseModel):
    alarm_id: UUID
    status: Literal["accepted", "merged", "diverted"]
    tier: ResponseTier
    target_seconds: int
    merged_into: UUID | None = None


class UpdateAnswer(BaseModel):
    """The alarm after an update or cancel; `repeat` when the update id was seen before (the
    first answer again), `replan` when dispatch plans the call again (the scene moved)."""

    alarm_id: UUID
    update_id: str
    status: AlarmStatus
    tier: ResponseTier
    target_seconds: int
    replan: bool
    repeat: bool


class UnmergeRequest(BaseModel):
    """Who undoes the merge (a console user), for the alarm's timeline; optional."""

    actor: Code | None = None


class TimelineEntry(BaseModel):
    kind: str
    at: datetime
    unit_id: str | None = None
    work_order_id: UUID | None = None
    detail: dict[str, Any]


class AlarmSummary(BaseModel):
    alarm_id: UUID
    source: str
    source_alarm_id: str
    status: AlarmStatus
    category: AlarmCategory
    priority: int
    tier: ResponseTier
    target_seconds: int
    location: GeoPoint
    address: str | None = None
    reported_at: datetime
    received_at: datetime
    merged_into: UUID | None = None
    callers: int


class AlarmView(AlarmSummary):
    description: str | None = None
    response_seconds: float | None = None
    target_met: bool | None = None
    timeline: list[TimelineEntry]


class BoardAnswer(BaseModel):
    items: list[AlarmSummary]
    next_cursor: str | None = None
