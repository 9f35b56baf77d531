"""The duplicate-call rule: near in place and time, compatible category, open."""

import math
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kj_alarm.domain.duplicates import (
    MergeRule,
    OpenAlarm,
    compatible,
    lock_cells,
    merge_target,
)
from kj_schemas.enums import AlarmCategory as C
from kj_schemas.geo import EARTH_RADIUS_M, haversine_m

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RULE = MergeRule(distance_m=200, window_s=1800)


def open_alarm(lat: float, lon: float, category: C = C.fight, at: datetime = T0) -> OpenAlarm:
    return OpenAlarm(uuid.uuid4(), lat, lon, at, category)


def target(
    lat: float, lon: float, category: C, at: datetime, alarms: list[OpenAlarm]
) -> OpenAlarm | None:
    return merge_target(
        lat=lat, lon=lon, reported_at=at, category=category, open_alarms=alarms, rule=RULE
    )


def test_haversine_of_a_thousandth_of_a_degree_of_latitude_is_about_111_m() -> None:
    assert 110 < haversine_m(27.0, 111.0, 27.001, 111.0) < 112


def test_a_near_recent_compatible_call_merges_into_the_nearest_open_alarm() -> None:
    near, nearer = open_alarm(27.2400, 111.4700), open_alarm(27.2391, 111.4691)
    hit = target(27.2390, 111.4690, C.violent_crime, T0 + timedelta(minutes=3), [near, nearer])
    assert hit is nearer


def test_too_far_too_late_or_incompatible_is_a_new_incident() -> None:
    alarm = open_alarm(27.2390, 111.4690)
    assert target(27.2420, 111.4690, C.fight, T0, [alarm]) is None  # ~330 m
    assert target(27.2390, 111.4690, C.fight, T0 + timedelta(minutes=31), [alarm]) is None
    assert target(27.2390, 111.4690, C.traffic_accident, T0, [alarm]) is None


def test_compatible_categories_are_symmetric_and_include_themselves() -> None:
    for a in C:
        assert compatible(a, a)
        for b in C:
            assert compatible(a, b) == compatible(b, a)
    assert compatible(C.fight, C.violent_crime)
    assert not compatible(C.fire, C.theft)


def test_two_calls_within_the_distance_always_share_a_lock_cell() -> None:
    for i in range(200):
        lat, lon = 27.0 + i * 0.00037, 111.0 + i * 0.00053
        other = (lat + 0.0012, lon - 0.0013)  # ~185 m apart
        assert haversine_m(lat, lon, *other) <= 200
        assert set(lock_cells(lat, lon, 200)) & set(lock_cells(*other, 200))
    cells = lock_cells(27.0, 111.0, 200)
    assert cells == sorted(cells) and all(0 <= c < 2**31 for c in cells)


@settings(max_examples=500, deadline=None)
@given(
    lat=st.floats(-79.0, 79.0),
    lon=st.floats(-179.0, 179.0),
    bearing=st.floats(0.0, 2 * math.pi),
    fraction=st.floats(0.0, 1.0),
    distance_m=st.sampled_from([50.0, 200.0, 1000.0]),
)
def test_any_two_calls_within_the_distance_share_a_lock_and_take_at_most_four(
    lat: float, lon: float, bearing: float, fraction: float, distance_m: float
) -> None:
    # the other call, `fraction` of the distance away in any direction (local metres)
    metres = fraction * distance_m * 0.999
    other_lat = lat + math.degrees(metres * math.cos(bearing) / EARTH_RADIUS_M)
    other_lon = lon + math.degrees(
        metres * math.sin(bearing) / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
    )
    assume(haversine_m(lat, lon, other_lat, other_lon) <= distance_m)
    mine, theirs = lock_cells(lat, lon, distance_m), lock_cells(other_lat, other_lon, distance_m)
    assert set(mine) & set(theirs)
    assert len(mine) <= 4
