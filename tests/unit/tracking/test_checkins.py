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
            assert index.near(cp.platform_id, cp.lat + dlat, cp.lon + dlon)
    assert not index.near(CP.platform_id, CP.lat + 0.05, CP.lon)
    assert not index.near(CP.platform_id, 27.0, 112.0)


def test_the_index_covers_all_of_a_platforms_checkpoints_and_only_its_own() -> None:
    """A unit checks in only at its own platform's checkpoints: next to another platform's
    it is not near; between two of its own far apart it is inside the joined box, where
    `observe` finds no checkpoint."""
    north = Checkpoint("SY-P01-K2", "SY-P01", CP.lat + 0.02, CP.lon + 0.01, 40)
    index = CheckpointIndex([CP, north])
    for cp in (CP, north):
        assert index.near("SY-P01", cp.lat + 0.00035, cp.lon - 0.0004)
        assert not index.near("SY-P02", cp.lat, cp.lon)  # another platform's unit
    assert index.near("SY-P01", CP.lat + 0.01, CP.lon + 0.005)  # within the joined box
    assert (
        observe(
            at(UnitTrack("SY-P01-C1", "SY-P01", "car"), 0, CP.lat + 0.01, CP.lon + 0.005),
            [CP, north],
            60,
        )
        is None
    )
    assert not index.near("SY-P01", CP.lat - 0.001, CP.lon)  # south of both


def test_every_fix_the_index_passes_over_is_one_observe_finds_nothing_at() -> None:
    """The index may let a fix through to `observe`, never hold one back that `observe` would
    place in a checkpoint: fixes on a fine grid around a checkpoint, at its radius's edge."""
    index = CheckpointIndex([CP])
    steps = [n / 20 for n in range(-30, 31)]
    placed = 0
    for dy in steps:
        for dx in steps:
            lat, lon = CP.lat + dy * 0.0004, CP.lon + dx * 0.0008
            unit = at(UnitTrack("SY-P01-C1", "SY-P01", "car"), 0, lat, lon)
            observe(unit, [CP], 60)
            if unit.checkpoint_id is not None:
                placed += 1
                assert index.near("SY-P01", lat, lon), (dy, dx)
    assert placed > 100  # the grid reaches well inside the radius, not only around it
