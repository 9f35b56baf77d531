"""Which trusted fixes go into a unit's stored track (decision 0161): one 20 m or more from the
last one kept, or 30 s after it; a parked unit stores one row a gap, a car on a call every few
seconds; 0 m keeps every fix. The tracks role keeps the same ones as the one-process tracker."""

from datetime import UTC, datetime, timedelta

from kj_tracking.adapters.ping_codec import PingWire
from kj_tracking.domain.publication import TrackRules, worth_keeping
from kj_tracking.domain.units import UnitTrack, registry
from kj_tracking.domain.validation import Rules
from kj_tracking.service_layer.track_recorder import TrackRecorder

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
LAT, LON = 27.2389, 111.4677
M_LAT = 1 / 111_195  # one metre north, in degrees


def kept(fixes: list[tuple[float, float]], rules: TrackRules) -> list[int]:
    """The seconds (fix times from T0) of the fixes kept, one fix a second at (north m, east m)."""
    unit = UnitTrack("SY-P01-C1", "SY-P01", "car")
    return [
        second
        for second, (north, east) in enumerate(fixes)
        if worth_keeping(
            unit, T0 + timedelta(seconds=second), LAT + north * M_LAT, LON + east * M_LAT, rules
        )
    ]


def test_a_parked_unit_stores_its_first_fix_and_then_one_a_gap() -> None:
    jitter = [(4.0 * (s % 3), -3.0 * (s % 2)) for s in range(120)]  # GPS noise within 10 m
    assert kept(jitter, TrackRules(min_move_m=20, max_gap_s=30)) == [0, 30, 60, 90]


def test_a_moving_unit_stores_a_fix_each_20_m() -> None:
    car = [(12.0 * s, 0.0) for s in range(11)]  # 12 m/s north (43 km/h)
    assert kept(car, TrackRules(min_move_m=20, max_gap_s=30)) == [0, 2, 4, 6, 8, 10]
    east = [(0.0, 25.0 * s) for s in range(4)]  # east-west distance measured at its latitude
    assert kept(east, TrackRules(min_move_m=20, max_gap_s=30)) == [0, 1, 2, 3]


def test_a_unit_that_stops_after_a_drive_stores_the_stop_and_then_one_a_gap() -> None:
    drive = [(30.0 * s, 0.0) for s in range(5)] + [(120.0, 0.0)] * 60
    assert kept(drive, TrackRules(min_move_m=20, max_gap_s=30)) == [0, 1, 2, 3, 4, 34, 64]


def test_zero_metres_keeps_every_fix() -> None:
    parked = [(0.0, 0.0)] * 10
    assert kept(parked, TrackRules(min_move_m=0, max_gap_s=30)) == list(range(10))


async def test_the_tracks_role_stores_the_kept_fixes_and_every_late_one() -> None:
    offered: list[list[tuple[object, ...]]] = []

    class Writer:
        def offer(self, rows: list[tuple[object, ...]]) -> None:
            offered.append(rows)

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    recorder = TrackRecorder(
        registry([("SY-P01-C1", "SY-P01", "car")]),
        Rules(),
        TrackRules(min_move_m=20, max_gap_s=30),
        Writer(),  # type: ignore[arg-type]
    )

    def wire(second: int, north_m: float) -> PingWire:
        at = start + timedelta(seconds=second)
        return PingWire("SY-P01-C1", at, LAT + north_m * M_LAT, LON, None, None, 5.0)

    await recorder.handle_pings([wire(s, 5.0 * s) for s in range(10)])  # 5 m/s
    await recorder.handle_pings([wire(5, 30.0)])  # late (a dead zone's fix sent again, moved)
    stored = [row[1] for batch in offered for row in batch]
    assert stored == [start + timedelta(seconds=s) for s in (0, 4, 8, 5)]
