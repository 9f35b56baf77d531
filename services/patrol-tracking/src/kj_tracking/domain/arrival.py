"""Arrival on scene from GPS: the first trusted fix within a radius of the scene of the unit's
open work order. Exactly once per work order is the database's job (see adapters/arrivals)."""

from dataclasses import dataclass

from kj_schemas.enums import UnitStatus
from kj_schemas.geo import haversine_m
from kj_tracking.domain.units import UnitTrack

_HEADING_THERE = frozenset({UnitStatus.assigned, UnitStatus.en_route})


@dataclass(frozen=True, slots=True)
class Arrival:
    work_order_id: str
    unit_id: str
    at: float  # the fix time
    lat: float
    lon: float
    post_id: str | None = None  # an arrival at a post (the work order is a reposition)


def detect(unit: UnitTrack, radius_m: float) -> Arrival | None:
    """Call after the unit moved to a trusted fix. Marks the unit on scene when it arrived."""
    if unit.work_order_id is None or unit.scene_lat is None or unit.scene_lon is None:
        return None
    if unit.status not in _HEADING_THERE:
        return None
    if haversine_m(unit.lat, unit.lon, unit.scene_lat, unit.scene_lon) > radius_m:
        return None
    unit.status = UnitStatus.on_scene
    return Arrival(unit.work_order_id, unit.unit_id, unit.fix_at.timestamp(), unit.lat, unit.lon)
