"""GPS pings from terminals and the unit state that patrol tracking derives from them."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from kj_schemas.base import (
    Contract,
    Latitude,
    Longitude,
    Message,
    PlatformId,
    Timestamp,
    UnitId,
)
from kj_schemas.enums import UnitKind, UnitStatus

SpeedKmh = Annotated[float, Field(strict=True, ge=0, le=400, allow_inf_nan=False)]
HeadingDeg = Annotated[float, Field(strict=True, ge=0, lt=360, allow_inf_nan=False)]
AccuracyM = Annotated[float, Field(strict=True, ge=0, le=100_000, allow_inf_nan=False)]


class GpsPing(Contract):
    """The external contract of `patrol.pings` (key = unit id). Terminals send it every 1-5 s.
    `schema_version` may be omitted. (unit_id, ts) identifies a fix: a repeat is a duplicate."""

    schema_version: Literal[1] = 1
    unit_id: UnitId
    ts: Timestamp
    lat: Latitude
    lon: Longitude
    speed_kmh: SpeedKmh | None = None
    heading_deg: HeadingDeg | None = None
    accuracy_m: AccuracyM | None = None


class UnitState(Message):
    """A unit's latest trusted position and status, on the compacted `units.state` topic."""

    unit_id: UnitId
    platform_id: PlatformId
    kind: UnitKind
    status: UnitStatus
    lat: Latitude
    lon: Longitude
    speed_kmh: SpeedKmh | None = None
    heading_deg: HeadingDeg | None = None
    fix_at: Timestamp
    last_seen_at: Timestamp
    work_order_id: UUID | None = None
    # the post it patrols or drives to (a reposition: it stays free for calls), and whether its
    # fixes have reached it
    post_id: UnitId | None = None
    at_post: bool = False
