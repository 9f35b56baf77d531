"""The ETA fitted to measured responses: acceptance delay and turnout per kind, circuity and
speed per kind, congestion by hour. A pure function over plain records (the work-order history:
issued, accepted, en route, on scene, and the track's length when known); the SQL that reads
them stays outside the domain.

drive = straight-line metres × circuity(kind) ÷ speed(kind) × congestion(hour)
start = acceptance(kind) + turnout(kind)

Speed and congestion are fitted by alternating ratio estimates; congestion is normalised so the
median hour is 1.0 and shrunk towards 1.0 where an hour has few trips. Circuity comes from
track length ÷ straight line where the records carry it, otherwise the prior's stays (speed
then absorbs the difference: the drive time is what matters).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from kj_dispatch.domain.eta import EtaParams
from kj_schemas.enums import UnitKind

_MIN_STRAIGHT_M = 100.0  # shorter trips say little about speed or circuity
_ROUNDS = 6


@dataclass(frozen=True, slots=True)
class MeasuredResponse:
    """One unit's trip to a scene, from its work order's events."""

    kind: UnitKind
    straight_m: float  # the unit's fix when the order was issued → the scene
    hour: int  # local hour when issued
    accept_s: float  # issued → accepted
    turnout_s: float  # accepted → moving (en route)
    drive_s: float  # moving → on scene
    path_m: float | None = None  # driven distance from the track, when known


@dataclass(frozen=True)
class EtaFit:
    params: EtaParams
    spread: Mapping[UnitKind, float]  # std of measured ÷ predicted response, per kind
    samples: Mapping[UnitKind, int]


def fit_eta(
    records: Iterable[MeasuredResponse],
    prior: EtaParams | None = None,
    *,
    min_samples: int = 30,
    hour_pseudo_trips: float = 20.0,
    default_spread: float = 0.2,
) -> EtaFit:
    """Parameters for the kinds with at least `min_samples` trips; the prior's for the rest."""
    prior = prior or EtaParams()
    by_kind: dict[UnitKind, list[MeasuredResponse]] = {}
    for record in records:
        if record.straight_m >= 0 and record.drive_s > 0:
            by_kind.setdefault(record.kind, []).append(record)
    fitted = {k: rs for k, rs in by_kind.items() if len(rs) >= min_samples}
    startup = dict(prior.startup_s)
    circuity = dict(prior.circuity_by_kind)
    for kind, rs in fitted.items():
        startup[kind] = float(np.mean([r.accept_s + r.turnout_s for r in rs]))
        ratios = [
            r.path_m / r.straight_m
            for r in rs
            if r.path_m is not None and r.straight_m >= _MIN_STRAIGHT_M
        ]
        if len(ratios) >= min_samples:
            circuity[kind] = max(float(np.median(ratios)), 1.0)
    speed, congestion = _speed_and_congestion(fitted, prior, circuity, hour_pseudo_trips)
    params = prior.model_copy(
        update={
            "startup_s": startup,
            "speed_kmh": speed,
            "circuity_by_kind": circuity,
            "congestion_by_hour": congestion if fitted else prior.congestion_by_hour,
            "congestion_on_startup": False if fitted else prior.congestion_on_startup,
        }
    )
    spread = {
        kind: _spread(rs, params) if kind in fitted else default_spread
        for kind, rs in by_kind.items()
    }
    for kind in UnitKind:
        spread.setdefault(kind, default_spread)
    return EtaFit(params, spread, {kind: len(rs) for kind, rs in by_kind.items()})


def _speed_and_congestion(
    fitted: Mapping[UnitKind, list[MeasuredResponse]],
    prior: EtaParams,
    circuity: Mapping[UnitKind, float],
    pseudo: float,
) -> tuple[dict[UnitKind, float], dict[int, float]]:
    speed = dict(prior.speed_kmh)
    trips = [
        (kind, r.straight_m * circuity.get(kind, prior.circuity), r.hour % 24, r.drive_s)
        for kind, rs in fitted.items()
        for r in rs
        if r.straight_m >= _MIN_STRAIGHT_M
    ]
    if not trips:
        return speed, {}
    kinds = [kind for kind, *_ in trips]
    road = np.array([t[1] for t in trips])
    hours = np.array([t[2] for t in trips])
    drive = np.array([t[3] for t in trips])
    factor = np.ones(24)
    pace = {kind: 3.6 / speed[kind] for kind in fitted}  # seconds per road metre
    for _ in range(_ROUNDS):
        for kind in fitted:
            mine = np.array([k is kind for k in kinds])
            if mine.any():
                pace[kind] = drive[mine].sum() / (road[mine] * factor[hours[mine]]).sum()
        base = road * np.array([pace[k] for k in kinds])  # uncongested prediction
        seen = np.bincount(hours, weights=drive, minlength=24)
        expected = np.bincount(hours, weights=base, minlength=24)
        mean_trip = base.mean()
        factor = (seen + pseudo * mean_trip) / (expected + pseudo * mean_trip)
        factor /= np.median(factor)
    for kind, seconds_per_m in pace.items():
        speed[kind] = 3.6 / seconds_per_m
    return speed, {h: round(float(f), 3) for h, f in enumerate(factor)}


def _spread(records: list[MeasuredResponse], params: EtaParams) -> float:
    measured = np.array([r.accept_s + r.turnout_s + r.drive_s for r in records])
    metres = np.array([r.straight_m for r in records])
    factors = np.array([params.factor_at_hour(r.hour) for r in records])
    kind = records[0].kind
    drive = metres * params.circuity_of(kind) / (params.speed_kmh[kind] / 3.6) * factors
    predicted = drive + params.startup_s[kind]
    return float(np.std(measured / predicted))
