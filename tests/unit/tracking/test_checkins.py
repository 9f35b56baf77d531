"""Check-ins (打卡): dwell within the radius, once per visit."""

from kj_tracking.domain.checkins import Checkpoint, CheckpointIndex, observe
from kj_tracking.domain.units import Fix, UnitTrack

CP = Checkpoint("SY-P01-K1", "SY-P01", 27.25146, 111.456798, 40)


def at(unit: UnitTrack, ts: float, lat: float = CP.lat, lon: float = CP.lon) -> UnitTrack:
    unit.move_to(Fix(unit.unit_id, ts, lat, lon), ts)
    return unit


def test_staying_for_the_dwell_time_checks_in_once() -> None:
    unit = UnitTrack("SY-P01-C1", "SY-P01", "car")
    assert observe(at(unit, 0), [CP], 60) is None
    assert observe(at(unit, 30), [CP], 60) is None
    checkin = observe(at(unit, 61), [CP], 60)
    assert checkin is not None
    assert (checkin.checkpoint_id, checkin.arrived_at, checkin.checked_in_at) == (
        CP.checkpoint_id,
        0,
        61,
    )
    assert observe(at(unit, 120), [CP], 60) is None


def test_passing_by_is_not_a_check_in() -> None:
    unit = UnitTrack("SY-P01-C1", "SY-P01", "car")
    assert observe(at(unit, 0), [CP], 60) is None
    assert observe(at(unit, 30, lat=CP.lat + 0.01), [CP], 60) is None
    assert observe(at(unit, 70), [CP], 60) is None  # a new visit starts at 70


def test_leaving_and_coming_back_is_a_new_visit() -> None:
    unit = UnitTrack("SY-P01-C1", "SY-P01", "car")
    observe(at(unit, 0), [CP], 60)
    assert observe(at(unit, 60), [CP], 60) is not None
    observe(at(unit, 100, lat=CP.lat + 0.01), [CP], 60)
    observe(at(unit, 200), [CP], 60)
    assert observe(at(unit, 260), [CP], 60) is not None


def test_the_index_finds_every_point_within_a_checkpoint_and_skips_far_ones() -> None:
    south_west = Checkpoint("X-K1", "X", -33.8688, -151.2093, 40)  # negative coordinates
    index = CheckpointIndex([CP, south_west])
    for cp in (CP, south_west):
        for dlat, dlon in ((0, 0), (0.00035, 0), (-0.00035, 0), (0, 0.0004), (0, -0.0004)):
            assert index.near(cp.lat + dlat, cp.lon + dlon)
    assert not index.near(CP.lat + 0.05, CP.lon)
    assert not index.near(27.0, 112.0)
