"""The duplicate-call rule: near in place and time, compatible category, open."""

import uuid
from datetime import UTC, datetime, timedelta

from kj_alarm.domain.duplicates import (
    MergeRule,
    OpenAlarm,
    compatible,
    lock_cells,
    merge_target,
)
from kj_schemas.enums import AlarmCategory as C
from kj_schemas.geo import haversine_m

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
