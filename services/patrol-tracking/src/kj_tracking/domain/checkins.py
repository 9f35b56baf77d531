"""Patrol check-ins (打卡): a unit that stays within one of its platform's checkpoints for the
dwell time checks in once per visit; leaving the radius ends the visit."""

from dataclasses import dataclass

from kj_tracking.domain.geo import haversine_m
from kj_tracking.domain.units import Fix, UnitTrack


@dataclass(frozen=True, slots=True)
class Checkpoint:
    checkpoint_id: str
    platform_id: str
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class CheckIn:
    checkpoint_id: str
    unit_id: str
    platform_id: str
    arrived_at: float  # fix time when the visit began
    checked_in_at: float  # fix time when the dwell time was reached


# about 111 km per degree of latitude: a cheap box test before the exact distance
_DEG_M = 111_000.0


def _inside(checkpoints: list[Checkpoint], lat: float, lon: float) -> Checkpoint | None:
    for cp in checkpoints:
        box = cp.radius_m / _DEG_M
        if abs(cp.lat - lat) > box or abs(cp.lon - lon) > 2 * box:
            continue
        if haversine_m(lat, lon, cp.lat, cp.lon) <= cp.radius_m:
            return cp
    return None


def observe(
    unit: UnitTrack, fix: Fix, checkpoints: list[Checkpoint], dwell_s: float
) -> CheckIn | None:
    """Call after `fix` was accepted; `checkpoints` are the unit's platform's."""
    if not checkpoints:
        return None
    here = _inside(checkpoints, fix.lat, fix.lon)
    if here is None:
        unit.checkpoint_id = None
        return None
    if unit.checkpoint_id != here.checkpoint_id:
        unit.checkpoint_id = here.checkpoint_id
        unit.dwell_since = fix.ts
        unit.checkin_done = False
        return None
    if unit.checkin_done or fix.ts - unit.dwell_since < dwell_s:
        return None
    unit.checkin_done = True
    return CheckIn(here.checkpoint_id, unit.unit_id, unit.platform_id, unit.dwell_since, fix.ts)
