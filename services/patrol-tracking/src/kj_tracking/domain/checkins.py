"""Patrol check-ins (打卡): a unit that stays within one of its platform's checkpoints for the
dwell time checks in once per visit; leaving the radius ends the visit."""

from collections.abc import Iterable
from dataclasses import dataclass

from kj_schemas.geo import haversine_m
from kj_tracking.domain.units import UnitTrack


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


class CheckpointIndex:
    """Per platform, the box around its checkpoints (each checkpoint's box that `_inside`
    tests first, joined): a fix outside it lies in none of them, so `observe` would find
    nothing there. Most fixes are outside, and one dict lookup and four comparisons tell so.
    It replaced a grid of 0.01-degree cells touched by any platform's checkpoint: twice the
    cost a fix, and it let through every fix within a kilometre of one (a sixth of the
    bench's) to an `observe` that found nothing."""

    def __init__(self, checkpoints: Iterable[Checkpoint]) -> None:
        # platform id -> (south, north, west, east), degrees
        self.boxes: dict[str, tuple[float, float, float, float]] = {}
        for cp in checkpoints:
            box = cp.radius_m / _DEG_M
            south, north = cp.lat - box, cp.lat + box
            west, east = cp.lon - 2 * box, cp.lon + 2 * box
            joined = self.boxes.get(cp.platform_id)
            if joined is not None:
                south, north = min(joined[0], south), max(joined[1], north)
                west, east = min(joined[2], west), max(joined[3], east)
            self.boxes[cp.platform_id] = (south, north, west, east)

    def near(self, platform_id: str, lat: float, lon: float) -> bool:
        """Whether a fix of a unit of `platform_id` may lie within one of its checkpoints."""
        box = self.boxes.get(platform_id)
        return box is not None and box[0] <= lat <= box[1] and box[2] <= lon <= box[3]


def _inside(checkpoints: list[Checkpoint], lat: float, lon: float) -> Checkpoint | None:
    for cp in checkpoints:
        box = cp.radius_m / _DEG_M
        if abs(cp.lat - lat) > box or abs(cp.lon - lon) > 2 * box:
            continue
        if haversine_m(lat, lon, cp.lat, cp.lon) <= cp.radius_m:
            return cp
    return None


def observe(unit: UnitTrack, checkpoints: list[Checkpoint], dwell_s: float) -> CheckIn | None:
    """Call after the unit moved to a trusted fix; `checkpoints` are its platform's."""
    if not checkpoints:
        return None
    here = _inside(checkpoints, unit.lat, unit.lon)
    if here is None:
        unit.checkpoint_id = None
        return None
    if unit.checkpoint_id != here.checkpoint_id:
        unit.checkpoint_id = here.checkpoint_id
        unit.dwell_since = unit.fix_at
        unit.checkin_done = False
        return None
    if unit.checkin_done or (unit.fix_at - unit.dwell_since).total_seconds() < dwell_s:
        return None
    unit.checkin_done = True
    return CheckIn(
        here.checkpoint_id,
        unit.unit_id,
        unit.platform_id,
        unit.dwell_since.timestamp(),
        unit.fix_at.timestamp(),
    )
