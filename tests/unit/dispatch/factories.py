"""Small builders for dispatch's domain tests: a fleet on a flat patch of Shaoyang."""

import math
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.eta import EtaParams, StraightLineEta
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.model import Call, Commitment
from kj_schemas.enums import AlarmCategory, ResponseTier, UnitKind, UnitStatus
from kj_schemas.geo import LocalProjection

LAT0, LON0 = 27.24, 111.47
# 03:00 in Shaoyang: no congestion factor
NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
PARAMS = EtaParams()


def east(metres: float) -> tuple[float, float]:
    """A point `metres` east of the origin (negative: west)."""
    return LAT0, LON0 + metres / (111_320 * math.cos(math.radians(LAT0)))


def north(metres: float) -> tuple[float, float]:
    return LAT0 + metres / 110_574, LON0


def make_fleet(params: EtaParams = PARAMS) -> Fleet:
    eta = StraightLineEta(params)
    return Fleet(CandidateIndex(LocalProjection(LAT0, LON0), eta, rebuild_interval_s=0))


def put(
    fleet: Fleet,
    unit_id: str,
    at: tuple[float, float],
    *,
    kind: UnitKind = UnitKind.motorcycle,
    platform: str = "SY-P01",
    status: UnitStatus = UnitStatus.available,
    fix_age_s: float = 5,
) -> None:
    fleet.update(
        unit_id=unit_id,
        platform_id=platform,
        kind=kind,
        status=status,
        lat=at[0],
        lon=at[1],
        fix_at=NOW - timedelta(seconds=fix_age_s),
        last_seen_at=NOW - timedelta(seconds=fix_age_s),
    )
    fleet.refresh_index(0.0)


def call(
    at: tuple[float, float],
    *,
    priority: int = 1,
    category: AlarmCategory = AlarmCategory.theft,
    target_s: float = 60,
    tier: ResponseTier = ResponseTier.key_location,
    waited_s: float = 0,
    alarm_id: UUID | None = None,
) -> Call:
    return Call(
        alarm_id or uuid4(),
        at[0],
        at[1],
        priority,
        category,
        tier,
        target_s,
        NOW - timedelta(seconds=waited_s),
    )


def busy(fleet: Fleet, unit_id: str, *, priority: int, status: str = "en_route") -> Commitment:
    commitment = Commitment(uuid4(), uuid4(), priority, "primary", status)
    fleet.commit(unit_id, commitment)
    fleet.refresh_index(0.0)
    return commitment
