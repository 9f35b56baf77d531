"""The simulated city behaves like the real one would look from the outside."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from kj_schemas.alarms import AlarmReport
from kj_schemas.city import City, load_city
from kj_schemas.enums import NON_POLICE_CATEGORIES, AlarmCategory
from kj_schemas.tracking import GpsPing
from kj_sim.alarms import DAILY_PROFILE, REPEAT_SHARE, AlarmStream, Burst
from kj_sim.fleet import Fleet, Mode, scaled_city
from kj_sim.pings import encode_pings

from ...stack import SAMPLE_CITY

EVENING = datetime(2026, 11, 23, 18, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(SAMPLE_CITY)


def test_same_seed_gives_the_same_calls_and_another_seed_does_not(city: City) -> None:
    def calls(seed: int) -> list[dict]:
        return AlarmStream(city, seed=seed, per_hour=300, start=EVENING).due(1800)

    assert calls(7) == calls(7)
    assert calls(7) != calls(8)


def test_each_call_can_be_posted_at_its_own_moment(city: City) -> None:
    """The e2e bench posts every call when it is placed, not in ticks: `next_due` names that
    moment, and taking the calls one moment at a time gives the same calls, at their times."""
    stream = AlarmStream(city, seed=2, per_hour=3 * 3600, start=EVENING, daily_profile=False)
    moments, one_by_one = [], []
    while (at := stream.next_due()) <= 60:
        assert not stream.due(at - 1e-6)  # nothing is placed before that moment
        calls = stream.due(at)
        assert calls
        moments.append(at)
        one_by_one += calls
    again = AlarmStream(city, seed=2, per_hour=3 * 3600, start=EVENING, daily_profile=False)
    assert one_by_one == again.due(60)
    assert moments == sorted(moments)
    assert len(moments) > 0.95 * len(one_by_one)  # continuous times: few calls share one
    assert 120 < len(one_by_one) < 260


def test_a_second_run_on_the_same_day_gets_new_alarm_ids(city: City) -> None:
    """The intake answers 409 to a known id with another body: a rerun must not reuse ids."""
    first = AlarmStream(city, seed=1, per_hour=600, start=EVENING).due(600)
    later = AlarmStream(city, seed=1, per_hour=600, start=EVENING + timedelta(minutes=7)).due(600)
    assert first and later
    assert not {c["source_alarm_id"] for c in first} & {c["source_alarm_id"] for c in later}


def test_every_generated_call_is_a_valid_110_report(city: City) -> None:
    for body in AlarmStream(city, seed=1, per_hour=600, start=EVENING).due(3600):
        AlarmReport.model_validate(body)


def test_call_volume_follows_the_rate_and_includes_non_police_calls(city: City) -> None:
    calls = AlarmStream(city, seed=3, per_hour=400, start=EVENING).due(4 * 3600)
    # 18:00-22:00 is the evening peak; about one incident in eight has 1-3 more callers
    expected = 400 * DAILY_PROFILE[18:22].sum() * (1 + REPEAT_SHARE * 2)
    assert 0.85 * expected < len(calls) < 1.15 * expected
    non_police = sum(AlarmCategory(c["category"]) in NON_POLICE_CATEGORIES for c in calls)
    assert 0.12 < non_police / len(calls) < 0.3


def test_a_burst_puts_many_callers_near_one_place_within_minutes(city: City) -> None:
    stream = AlarmStream(city, seed=5, per_hour=1, start=EVENING, bursts=(Burst(600, 12),))
    calls = [c for c in stream.due(900) if c["category"] == "traffic_accident"]
    assert len(calls) >= 12
    lats = np.array([c["location"]["lat"] for c in calls[-12:]])
    assert lats.max() - lats.min() < 0.005  # within a few hundred metres


def test_a_unit_sent_to_a_scene_drives_there_stays_and_returns(city: City) -> None:
    fleet = Fleet(city, np.random.default_rng(2))
    unit = fleet.index["SY-P06-M1"]
    fleet.send_to_scene(unit, 27.2389, 111.4677, "wo-1")
    arrived_at = cleared_at = None
    for second in range(3600):
        arrivals, cleared = fleet.step(float(second), 1.0)
        if any(a.unit == unit and a.work_order_id == "wo-1" for a in arrivals):
            arrived_at = second
        if any(c.unit == unit for c in cleared):
            cleared_at = second
            break
    assert arrived_at is not None and arrived_at < 120  # a motorcycle a few hundred metres away
    assert cleared_at is not None and cleared_at > arrived_at
    assert fleet.mode[unit] == Mode.returning


def test_a_unit_sent_to_a_post_patrols_within_its_radius_until_the_post_is_withdrawn(
    city: City,
) -> None:
    fleet = Fleet(city, np.random.default_rng(3))
    unit = fleet.index["SY-P06-M1"]
    post = (27.2440, 111.4700)
    fleet.send_to_post(unit, *post, "post-1", 100.0)
    px, py = fleet.projection.to_xy(np.array([post[0]]), np.array([post[1]]))
    distances = []
    for second in range(900):
        fleet.step(float(second), 1.0)
        distances.append(float(np.hypot(fleet.x[unit] - px[0], fleet.y[unit] - py[0])))
    reached = next(i for i, d in enumerate(distances) if d <= 100)
    assert max(distances[reached:]) <= 110  # it stays at its post, moving about it
    assert fleet.mode[unit] == Mode.patrol
    fleet.leave_post(unit, "post-0")  # another post's withdrawal changes nothing
    assert fleet.post_order[unit] == "post-1"
    fleet.leave_post(unit, "post-1")
    for second in range(900, 1500):
        fleet.step(float(second), 1.0)
    assert fleet.post_order[unit] is None
    assert (
        np.hypot(
            fleet.target_x[unit] - fleet.base_x[unit], fleet.target_y[unit] - fleet.base_y[unit]
        )
        < 1_300
    )


def test_patrolling_units_stay_on_their_platforms_grid(city: City) -> None:
    fleet = Fleet(city, np.random.default_rng(4))
    for second in range(600):
        fleet.step(float(second), 1.0)
    distance = np.hypot(fleet.x - fleet.base_x, fleet.y - fleet.base_y)
    assert distance.max() < 1_300
    assert (fleet.mode == Mode.patrol).all()


def test_pings_follow_the_terminal_contract(city: City) -> None:
    fleet = Fleet(scaled_city(city, 2000), np.random.default_rng(1))
    fleet.step(0.0, 1.0)
    lat, lon = fleet.positions()
    records = encode_pings(fleet.unit_ids, EVENING, lat, lon, fleet.current_speed, fleet.heading)
    assert len(records) == 2000
    key, value = records[0]
    ping = GpsPing.model_validate_json(value)
    assert key.decode() == ping.unit_id and ping.ts == EVENING


def test_every_heading_a_fleet_can_have_makes_a_ping_the_contract_takes() -> None:
    """A heading just under 360 (or a hair under 0, as `% 360.0` leaves one) rounds to 360.0
    if wrapped first; the contract takes [0, 360), and tracking dead-letters the ping."""
    headings = np.array([359.96, 359.999, np.nextafter(360.0, 0.0), -1e-15, -0.04, 0.0, 180.05])
    count = len(headings)
    records = encode_pings(
        [f"U{i}" for i in range(count)],
        EVENING,
        np.full(count, 27.2),
        np.full(count, 111.4),
        np.full(count, 5.0),
        headings,
    )
    pings = [GpsPing.model_validate_json(value) for _, value in records]
    assert [ping.heading_deg for ping in pings] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 180.0]
