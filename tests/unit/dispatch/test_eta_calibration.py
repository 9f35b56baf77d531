"""The ETA fitted to measured responses recovers what the road does, per kind and hour."""

import numpy as np
import pytest

from kj_dispatch.domain.eta import EtaParams, StraightLineEta
from kj_dispatch.domain.eta_calibration import MeasuredResponse, fit_eta
from kj_dispatch.domain.model import FleetUnit
from kj_schemas.enums import UnitKind

from .factories import LAT0, LON0, NOW, east

# what the simulated road does: start (accept + turnout), road speed m/s, circuity
ROAD = {UnitKind.motorcycle: (12.0, 15.0, 9.0, 1.3), UnitKind.car: (12.0, 25.0, 8.0, 1.4)}
RUSH = {8: 1.5}


def trips(n: int, *, with_path: bool = True, seed: int = 3) -> list[MeasuredResponse]:
    rng = np.random.default_rng(seed)
    out = []
    for kind, (accept, turnout, speed, circuity) in ROAD.items():
        for _ in range(n):
            metres = float(rng.uniform(200, 4000))
            hour = int(rng.integers(0, 24))
            path = metres * circuity * float(rng.uniform(0.95, 1.05))
            drive = path / speed * RUSH.get(hour, 1.0) * float(rng.uniform(0.9, 1.1))
            out.append(
                MeasuredResponse(
                    kind,
                    metres,
                    hour,
                    accept * float(rng.uniform(0.8, 1.2)),
                    turnout * float(rng.uniform(0.8, 1.2)),
                    drive,
                    path if with_path else None,
                )
            )
    return out


def test_the_fit_recovers_start_up_speed_circuity_and_rush_hour_per_kind() -> None:
    fit = fit_eta(trips(3000))  # ~250 trips an hour: the shrinkage towards 1.0 is small
    p = fit.params
    for kind, (accept, turnout, speed, circuity) in ROAD.items():
        assert p.startup_s[kind] == pytest.approx(accept + turnout, rel=0.03)
        assert p.speed_kmh[kind] == pytest.approx(speed * 3.6, rel=0.05)
        assert p.circuity_of(kind) == pytest.approx(circuity, rel=0.03)
        assert 0 < fit.spread[kind] < 0.2
    assert p.congestion_by_hour[8] == pytest.approx(1.5, rel=0.1)
    assert p.congestion_by_hour[3] == pytest.approx(1.0, rel=0.1)
    assert not p.congestion_on_startup  # traffic slows the drive, not the officer's start


def test_without_track_lengths_speed_absorbs_circuity_and_the_drive_is_still_right() -> None:
    fit = fit_eta(trips(600, with_path=False))
    kind = UnitKind.car
    _, _, speed, circuity = ROAD[kind]
    predicted = fit.params.seconds(kind, np.array([2000.0]), 1.0)[0]
    assert predicted == pytest.approx(12 + 25 + 2000 * circuity / speed, rel=0.05)


def test_a_kind_with_too_few_trips_keeps_the_prior() -> None:
    prior = EtaParams()
    fit = fit_eta(trips(600)[:10], prior, min_samples=30)
    assert fit.params.startup_s == prior.startup_s
    assert fit.params.speed_kmh == prior.speed_kmh


def test_the_fitted_model_is_what_the_policy_estimates_with() -> None:
    fit = fit_eta(trips(600))
    unit = FleetUnit("M1", "SY-P01", UnitKind.motorcycle, LAT0, LON0, NOW, True)
    eta = StraightLineEta(fit.params).estimate(unit, *east(1000), NOW)  # 03:00 local: no rush
    assert eta is not None
    assert eta.seconds == pytest.approx(27 + 1000 * 1.3 / 9.0, rel=0.06)
