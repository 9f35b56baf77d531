"""When a unit's state is worth publishing on `units.state`: it moved more than a set distance,
its status changed, or the heartbeat interval passed. Downstream volume stays bounded whatever
the ping rate.

When a trusted fix is worth keeping in the unit's stored track: it lies `min_move_m` or more
from the last one kept, or `max_gap_s` passed since that one's fix time (Traccar's
`filter.distance` with `filter.skipLimit`; decision 0161). A parked or slowly patrolling unit
stores a row every `max_gap_s`, a car on a call one every few seconds, instead of one a
second each."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

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


@dataclass(frozen=True, slots=True)
class TrackRules:
    min_move_m: float = 20.0  # 0: every trusted fix is kept
    max_gap_s: float = 30.0
    max_gap: timedelta = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_gap", timedelta(seconds=self.max_gap_s))


def worth_keeping(unit: UnitTrack, at: datetime, lat: float, lon: float, rules: TrackRules) -> bool:
    """Whether the unit's trusted fix at `at` goes into its stored track; when it does, it is
    the one the next fixes are measured from."""
    kept_at = unit.kept_at
    if kept_at is not None and at - kept_at < rules.max_gap:
        dy = (lat - unit.kept_lat) * M_PER_DEG
        # without cos(lat) the east-west distance is an upper bound: a slow unit stops here
        dx = (lon - unit.kept_lon) * M_PER_DEG
        limit = rules.min_move_m
        if dx * dx + dy * dy < limit * limit:
            return False
        if approx_m(unit.kept_lat, unit.kept_lon, lat, lon) < limit:
            return False
    unit.kept_at, unit.kept_lat, unit.kept_lon = at, lat, lon
    return True


def mark_published(unit: UnitTrack, now: float) -> None:
    unit.published_lat, unit.published_lon = unit.lat, unit.lon
    unit.published_ts = now
    unit.published_status = unit.status
