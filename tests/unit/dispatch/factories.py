"""Small builders for dispatch's domain tests: a fleet on a flat patch of Shaoyang."""

import math
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.eta import EtaParams, StraightLineEta
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.model import Call, Commitment
from kj_dispatch.domain.workorder import OpenOrder
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import GeoPoint
from kj_schemas.enums import (
    AlarmCategory,
    ResponseTier,
    UnitKind,
    UnitStatus,
    WorkOrderRole,
    WorkOrderStatus,
)
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


def alarm(
    at: tuple[float, float] = (LAT0, LON0),
    *,
    priority: int = 1,
    category: AlarmCategory = AlarmCategory.theft,
    tier: ResponseTier = ResponseTier.key_location,
    target_seconds: int = 60,
) -> AlarmAccepted:
    """An alarm as alarm intake hands it to dispatch, received at NOW."""
    return AlarmAccepted(
        alarm_id=uuid4(),
        region="hunan-shaoyang",
        source="sy110",
        source_alarm_id=uuid4().hex,
        reported_at=NOW - timedelta(seconds=20),
        received_at=NOW,
        location=GeoPoint(lat=at[0], lon=at[1]),
        category=category,
        priority=priority,
        tier=tier,
        target_seconds=target_seconds,
    )


def open_order(
    for_alarm: AlarmAccepted,
    unit_id: str,
    *,
    role: WorkOrderRole = WorkOrderRole.primary,
    status: WorkOrderStatus = WorkOrderStatus.assigned,
    accept_within_s: float = 30,
) -> OpenOrder:
    """A work order of ours for `unit_id`, issued at NOW."""
    return OpenOrder(
        work_order_id=uuid4(),
        alarm_id=for_alarm.alarm_id,
        unit_id=unit_id,
        platform_id="SY-P01",
        role=role,
        status=status,
        priority=for_alarm.priority,
        issued_at=NOW,
        accept_by=NOW + timedelta(seconds=accept_within_s),
        eta_s=60.0,
        reason="closest_eta",
        at_risk=False,
    )
