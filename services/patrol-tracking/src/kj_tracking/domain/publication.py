"""When a unit's state is worth publishing on `units.state`: it moved more than a set distance,
its status changed, or the heartbeat interval passed. Downstream volume stays bounded whatever
the ping rate."""

from dataclasses import dataclass

from kj_schemas.geo import M_PER_DEG, approx_m
from kj_tracking.domain.units import UnitTrack


@dataclass(frozen=True, slots=True)
class PublishRules:
    min_move_m: float = 50.0
    heartbeat_s: float = 30.0


def due(unit: UnitTrack, now: float, rules: PublishRules) -> bool:
    if unit.status is not unit.published_status:
        return True
    if now - unit.published_ts >= rules.heartbeat_s:
        return True
    # without cos(lat) the east-west distance is an upper bound: most fixes stop here
    dy = (unit.lat - unit.published_lat) * M_PER_DEG
    dx = (unit.lon - unit.published_lon) * M_PER_DEG
    if dx * dx + dy * dy <= rules.min_move_m * rules.min_move_m:
        return False
    moved = approx_m(unit.published_lat, unit.published_lon, unit.lat, unit.lon)
    return moved > rules.min_move_m


def mark_published(unit: UnitTrack, now: float) -> None:
    unit.published_lat, unit.published_lon = unit.lat, unit.lon
    unit.published_ts = now
    unit.published_status = unit.status
