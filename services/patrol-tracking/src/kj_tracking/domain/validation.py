"""Which fixes are trusted. A rejected fix has a reason code (dead-lettered and counted by it);
a duplicate or an out-of-order fix is not an error but never moves a unit back in time."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from kj_schemas.geo import M_PER_DEG, approx_m
from kj_tracking.domain.units import NO_FIX, Fix, UnitTrack


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


@dataclass(frozen=True, slots=True)
class Window:
    """The fix times trusted at one moment; computed once per batch of pings."""

    newest: datetime
    oldest: datetime


def window(now: float, rules: Rules) -> Window:
    return Window(
        datetime.fromtimestamp(now + rules.max_future_s, UTC),
        datetime.fromtimestamp(now - rules.max_age_s, UTC),
    )


def check(fix: Fix, unit: UnitTrack | None, now: float, rules: Rules) -> Outcome:
    """Classify one fix against the unit's latest trusted fix."""
    if unit is None:
        return Outcome.unknown_unit
    at = datetime.fromtimestamp(fix.ts, UTC)
    return classify(unit, at, fix.lat, fix.lon, fix.accuracy_m, window(now, rules), rules)


# module constants: `Outcome.accepted` is a lookup through the enum's metaclass (~90 ns),
# a global is not, and classify returns one for every ping
_ACCEPTED, _DUPLICATE, _OUT_OF_ORDER = Outcome.accepted, Outcome.duplicate, Outcome.out_of_order
_OUT_OF_RANGE, _FUTURE_TS, _STALE_TS = Outcome.out_of_range, Outcome.future_ts, Outcome.stale_ts
_BAD_ACCURACY, _IMPOSSIBLE_JUMP = Outcome.bad_accuracy, Outcome.impossible_jump


def classify(
    unit: UnitTrack,
    at: datetime,
    lat: float,
    lon: float,
    accuracy_m: float | None,
    trusted: Window,
    rules: Rules,
) -> Outcome:
    """`check` over plain values, for the hot path: it runs for every ping, so the common
    case (a plausible next fix) costs a few comparisons and no trigonometry."""
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat == 0.0 and lon == 0.0):
        return _OUT_OF_RANGE
    if at > trusted.newest:
        return _FUTURE_TS
    if at < trusted.oldest:
        return _STALE_TS
    if accuracy_m is not None and accuracy_m > rules.max_accuracy_m:
        return _BAD_ACCURACY
    last = unit.fix_at
    if at > last:
        if last is NO_FIX:  # the unit's first fix
            return _ACCEPTED
        # cos(lat) <= 1: without it the east-west distance is an upper bound, so a fix
        # within the slack by that bound is within it for sure
        dy = (lat - unit.lat) * M_PER_DEG
        dx = (lon - unit.lon) * M_PER_DEG
        slack = rules.jump_slack_m
        if dx * dx + dy * dy <= slack * slack:
            return _ACCEPTED
        distance = approx_m(unit.lat, unit.lon, lat, lon)
        seconds = (at - last).total_seconds()
        if distance > slack and distance / seconds * 3.6 > rules.max_speed_kmh:
            return _IMPOSSIBLE_JUMP
        return _ACCEPTED
    if at == last:
        return _DUPLICATE
    return _OUT_OF_ORDER
