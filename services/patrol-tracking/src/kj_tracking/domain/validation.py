"""Which fixes are trusted. A rejected fix has a reason code (dead-lettered and counted by it);
a duplicate or an out-of-order fix is not an error but never moves a unit back in time."""

from dataclasses import dataclass
from enum import StrEnum

from kj_tracking.domain.geo import approx_m
from kj_tracking.domain.units import Fix, UnitTrack


class Outcome(StrEnum):
    accepted = "accepted"
    duplicate = "duplicate"  # same fix time as the latest trusted fix
    out_of_order = "out_of_order"  # older than the latest trusted fix: history only
    # rejections (dead-lettered)
    unknown_unit = "unknown_unit"
    out_of_range = "out_of_range"
    future_ts = "future_ts"
    stale_ts = "stale_ts"
    bad_accuracy = "bad_accuracy"
    impossible_jump = "impossible_jump"


REJECTIONS = frozenset(
    {
        Outcome.unknown_unit,
        Outcome.out_of_range,
        Outcome.future_ts,
        Outcome.stale_ts,
        Outcome.bad_accuracy,
        Outcome.impossible_jump,
    }
)


@dataclass(frozen=True, slots=True)
class Rules:
    max_future_s: float = 30.0  # terminal clocks drift a little, not more
    max_age_s: float = 6 * 3600.0  # older fixes are not worth keeping
    max_accuracy_m: float = 200.0
    max_speed_kmh: float = 250.0  # faster than any patrol vehicle on a road
    jump_slack_m: float = 150.0  # distances under this are GPS noise whatever the time


def check(fix: Fix, unit: UnitTrack | None, now: float, rules: Rules) -> Outcome:
    """Classify one fix against the unit's latest trusted fix. Pure and cheap: this runs for
    every ping."""
    if unit is None:
        return Outcome.unknown_unit
    if not (-90.0 <= fix.lat <= 90.0 and -180.0 <= fix.lon <= 180.0) or (
        fix.lat == 0.0 and fix.lon == 0.0
    ):
        return Outcome.out_of_range
    if fix.ts > now + rules.max_future_s:
        return Outcome.future_ts
    if fix.ts < now - rules.max_age_s:
        return Outcome.stale_ts
    if fix.accuracy_m is not None and fix.accuracy_m > rules.max_accuracy_m:
        return Outcome.bad_accuracy
    last = unit.fix_ts
    if last == 0.0:  # the unit's first fix
        return Outcome.accepted
    if fix.ts == last:
        return Outcome.duplicate
    if fix.ts < last:
        return Outcome.out_of_order
    distance = approx_m(unit.lat, unit.lon, fix.lat, fix.lon)
    if distance > rules.jump_slack_m:
        speed_kmh = distance / (fix.ts - last) * 3.6
        if speed_kmh > rules.max_speed_kmh:
            return Outcome.impossible_jump
    return Outcome.accepted
