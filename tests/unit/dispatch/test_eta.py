from datetime import UTC, datetime, timedelta

import numpy as np

from kj_dispatch.domain.eta import KIND_CODE, EtaModel, EtaParams, Etas, StraightLineEta
from kj_dispatch.domain.model import FleetUnit
from kj_schemas.enums import UnitKind

from .factories import LAT0, LON0, NOW, east


def columns(units: list[FleetUnit]) -> tuple[np.ndarray, ...]:
    """The units as `estimates_of` takes them."""
    return (
        np.array([u.lat for u in units]),
        np.array([u.lon for u in units]),
        np.array([KIND_CODE[u.kind] for u in units]),
        np.array([u.fix_ts for u in units]),
    )


def unit(kind: UnitKind = UnitKind.car, *, fix_age_s: float = 0) -> FleetUnit:
    return FleetUnit("U1", "SY-P01", kind, LAT0, LON0, NOW - timedelta(seconds=fix_age_s), True)


def test_eta_is_circuity_distance_over_speed_plus_startup() -> None:
    params = EtaParams(congestion_by_hour={})
    eta = StraightLineEta(params).estimate(unit(UnitKind.car), *east(1000), NOW)
    assert eta is not None and not eta.stale
    expected = 1000 * 1.3 / (45 / 3.6) + 20
    assert abs(eta.seconds - expected) < 1.0


def test_a_motorcycle_starts_faster_than_a_command_vehicle() -> None:
    model = StraightLineEta()
    moto = model.estimate(unit(UnitKind.motorcycle), *east(500), NOW)
    command = model.estimate(unit(UnitKind.command_vehicle), *east(500), NOW)
    assert moto is not None and command is not None
    assert moto.seconds < command.seconds


def test_rush_hour_slows_every_trip() -> None:
    model = StraightLineEta()
    night = model.estimate(unit(), *east(2000), NOW)
    rush = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 in Shaoyang: factor 1.5
    fresh = FleetUnit("U1", "SY-P01", UnitKind.car, LAT0, LON0, rush, True)
    peak = model.estimate(fresh, *east(2000), rush)
    assert night is not None and peak is not None
    assert abs(peak.seconds / night.seconds - 1.5) < 1e-6


def test_an_old_fix_widens_the_eta_and_says_so() -> None:
    model = StraightLineEta(EtaParams(stale_after_s=60, drop_after_s=300, stale_widen_factor=0.5))
    fresh = model.estimate(unit(fix_age_s=10), *east(1000), NOW)
    old = model.estimate(unit(fix_age_s=120), *east(1000), NOW)
    assert fresh is not None and old is not None
    assert old.stale and not fresh.stale
    assert abs(old.seconds - fresh.seconds - 60) < 1e-6


def test_a_fix_older_than_the_limit_is_not_used() -> None:
    model = StraightLineEta(EtaParams(drop_after_s=300))
    assert model.estimate(unit(fix_age_s=301), *east(100), NOW) is None


def test_the_straight_line_model_is_an_eta_model() -> None:
    model: EtaModel = StraightLineEta()
    assert model.estimate(unit(), LAT0, LON0, NOW) is not None


def test_many_units_at_once_give_the_same_estimates_as_one_by_one() -> None:
    model = StraightLineEta(EtaParams(stale_after_s=60, drop_after_s=300))
    units = [
        FleetUnit(f"U{i}", "SY-P01", kind, *east(300 * i), NOW - timedelta(seconds=age), True)
        for i, (kind, age) in enumerate(
            [(UnitKind.car, 5), (UnitKind.motorcycle, 90), (UnitKind.command_vehicle, 400)]
        )
    ]
    scene = east(-700)
    together = model.estimates_of(*columns(units), *scene, NOW)
    for i, unit in enumerate(units):
        alone = model.estimate(unit, *scene, NOW)
        if alone is None:
            assert together.seconds[i] == float("inf")
        else:
            assert abs(together.seconds[i] - alone.seconds) < 1e-6
            assert bool(together.stale[i]) == alone.stale
    assert [bool(s) for s in together.stale] == [False, True, True]


def test_many_units_to_many_places_give_the_same_estimates_as_one_by_one() -> None:
    model = StraightLineEta(EtaParams(stale_after_s=60, drop_after_s=300))
    units = [
        FleetUnit(f"U{i}", "SY-P01", kind, *east(300 * i), NOW - timedelta(seconds=age), True)
        for i, (kind, age) in enumerate(
            [(UnitKind.car, 5), (UnitKind.motorcycle, 90), (UnitKind.command_vehicle, 400)]
        )
    ]
    places = [east(-700), east(2500), east(0)]
    # a column of places against a row of units for each
    lats, lons, kinds, fixes = (np.tile(c, (len(places), 1)) for c in columns(units))
    column = np.array(places)
    matrix = model.estimates_of(lats, lons, kinds, fixes, column[:, :1], column[:, 1:], NOW)
    for place, seconds, stale in zip(places, matrix.seconds, matrix.stale, strict=True):
        together = Etas(seconds, stale)
        for i, unit in enumerate(units):
            alone = model.estimate(unit, *place, NOW)
            if alone is None:
                assert together.seconds[i] == float("inf")
            else:
                assert abs(together.seconds[i] - alone.seconds) < 1e-6
                assert bool(together.stale[i]) == alone.stale
