"""Patrol check-ins (打卡): a unit that stays within one of its platform's checkpoints for the
dwell time checks in once per visit; leaving the radius ends the visit."""

from collections.abc import Iterable
from dataclasses import dataclass
from math import floor

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
# grid cells of 0.01 degree (about 1 km) for the index
_CELLS_PER_DEG = 100.0


def cell(lat: float, lon: float) -> int:
    """The grid cell of a point: row and column are floors of latitude and longitude in
    cells, and the column (|column| <= 18,000) never reaches into the next row."""
    return floor(lat * _CELLS_PER_DEG) * 100_000 + floor(lon * _CELLS_PER_DEG)


class CheckpointIndex:
    """Which grid cells any checkpoint's circle touches: most fixes are nowhere near one, and
    one set lookup tells so without looping over the platform's checkpoints."""

    def __init__(self, checkpoints: Iterable[Checkpoint]) -> None:
        self.cells: set[int] = set()
        for cp in checkpoints:
            box = cp.radius_m / _DEG_M
            rows = floor((cp.lat - box) * _CELLS_PER_DEG), floor((cp.lat + box) * _CELLS_PER_DEG)
            columns = (
                floor((cp.lon - 2 * box) * _CELLS_PER_DEG),
                floor((cp.lon + 2 * box) * _CELLS_PER_DEG),
            )
            for row in range(rows[0], rows[1] + 1):
                for column in range(columns[0], columns[1] + 1):
                    self.cells.add(row * 100_000 + column)

    def near(self, lat: float, lon: float) -> bool:
        return cell(lat, lon) in self.cells


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
