"""Every validation rule, duplicates and out-of-order fixes."""

from datetime import datetime, timedelta, timezone

import pytest

from kj_tracking.domain.units import Fix, UnitTrack
from kj_tracking.domain.validation import Outcome, Rules, check, classify, window

NOW = 1_800_000_000.0
RULES = Rules()


def unit_at(lat: float = 27.24, lon: float = 111.47, ts: float = NOW - 10) -> UnitTrack:
    unit = UnitTrack("SY-P01-C1", "SY-P01", "car")
    unit.move_to(Fix("SY-P01-C1", ts, lat, lon), ts)
    return unit


def fix(ts: float = NOW - 5, lat: float = 27.2401, lon: float = 111.4701, **kw: float) -> Fix:
    return Fix("SY-P01-C1", ts, lat, lon, **kw)


def test_accepts_a_plausible_next_fix() -> None:
    assert check(fix(), unit_at(), NOW, RULES) is Outcome.accepted


def test_accepts_the_first_fix_of_a_unit_without_history() -> None:
    fresh = UnitTrack("SY-P01-C1", "SY-P01", "car")
    assert check(fix(lat=30.0, lon=115.0), fresh, NOW, RULES) is Outcome.accepted


def test_refuses_an_unknown_unit() -> None:
    assert check(fix(), None, NOW, RULES) is Outcome.unknown_unit


@pytest.mark.parametrize(("lat", "lon"), [(91.0, 111.0), (27.0, -181.0), (0.0, 0.0)])
def test_refuses_coordinates_out_of_range_or_at_null_island(lat: float, lon: float) -> None:
    assert check(fix(lat=lat, lon=lon), unit_at(), NOW, RULES) is Outcome.out_of_range


def test_refuses_a_fix_from_the_future_beyond_clock_drift() -> None:
    assert check(fix(ts=NOW + 31), unit_at(), NOW, RULES) is Outcome.future_ts
    assert check(fix(ts=NOW + 29), unit_at(), NOW, RULES) is Outcome.accepted


def test_refuses_a_fix_older_than_the_age_limit() -> None:
    fresh = UnitTrack("SY-P01-C1", "SY-P01", "car")
    assert check(fix(ts=NOW - RULES.max_age_s - 1), fresh, NOW, RULES) is Outcome.stale_ts


def test_refuses_a_fix_with_bad_accuracy() -> None:
    assert check(fix(accuracy_m=500.0), unit_at(), NOW, RULES) is Outcome.bad_accuracy
    assert check(fix(accuracy_m=20.0), unit_at(), NOW, RULES) is Outcome.accepted


def test_refuses_an_impossible_jump() -> None:
    # about 11 km in 5 s is ~8,000 km/h
    assert check(fix(lat=27.34), unit_at(), NOW, RULES) is Outcome.impossible_jump


def test_a_long_trip_over_a_long_time_is_not_a_jump() -> None:
    # 11 km in 10 minutes is 66 km/h
    unit = unit_at(ts=NOW - 600)
    assert check(fix(ts=NOW, lat=27.34), unit, NOW, RULES) is Outcome.accepted


def test_gps_noise_within_the_slack_is_not_a_jump() -> None:
    # 100 m in 0.1 s would be 3,600 km/h, but is within the noise slack
    unit = unit_at(ts=NOW - 1.0)
    assert check(fix(ts=NOW - 0.9, lat=27.2409), unit, NOW, RULES) is Outcome.accepted


def test_a_repeat_of_the_latest_fix_is_a_duplicate() -> None:
    unit = unit_at(ts=NOW - 10)
    assert check(fix(ts=NOW - 10), unit, NOW, RULES) is Outcome.duplicate


def test_an_older_fix_is_out_of_order_and_never_moves_the_unit_back() -> None:
    unit = unit_at(ts=NOW - 10)
    assert check(fix(ts=NOW - 20), unit, NOW, RULES) is Outcome.out_of_order


def test_the_cheap_bound_never_hides_a_jump_in_any_direction() -> None:
    # 300 m in 1 s (1,080 km/h) is a jump whichever way it goes, 120 m in 1 s is noise
    unit = unit_at(ts=NOW - 2.0)
    for dlat, dlon in ((0.0027, 0), (0, 0.00303), (-0.0019, -0.00215)):
        jump = fix(ts=NOW - 1.0, lat=unit.lat + dlat, lon=unit.lon + dlon)
        assert check(jump, unit, NOW, RULES) is Outcome.impossible_jump
        noise = fix(ts=NOW - 1.0, lat=unit.lat + dlat * 0.4, lon=unit.lon + dlon * 0.4)
        assert check(noise, unit, NOW, RULES) is Outcome.accepted


def test_the_same_instant_in_another_utc_offset_is_a_duplicate_and_earlier_is_late() -> None:
    unit = unit_at(ts=NOW - 10)
    beijing = timezone(timedelta(hours=8))
    same = datetime.fromtimestamp(NOW - 10, beijing)
    earlier = datetime.fromtimestamp(NOW - 11, beijing)
    trusted = window(NOW, RULES)
    assert classify(unit, same, 27.2401, 111.4701, None, trusted, RULES) is Outcome.duplicate
    assert classify(unit, earlier, 27.2401, 111.4701, None, trusted, RULES) is Outcome.out_of_order
