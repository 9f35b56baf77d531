"""What the platform knows from other days: call rates per place and hour, the ETA fitted to
measured responses, the busy fraction per hour. Learned from simulated days other than the
one scored (never from the study's truth constants, never from the scored day)."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kj_dispatch.domain.demand import (
    CallRecord,
    DemandModel,
    demand_cells,
    learn_rates,
    prior_by_zone,
)
from kj_dispatch.domain.eta_calibration import EtaFit, MeasuredResponse, fit_eta
from kj_schemas.city import City
from kj_schemas.enums import ResponseTier
from kj_schemas.geo import LocalProjection
from kj_sim.study.des import Costs
from kj_sim.study.world import Incident

MIN_BUSY, MAX_BUSY = 0.02, 0.9  # the planner's q stays in a sane range on thin history


@dataclass(frozen=True)
class DayRecord:
    """One simulated day as the alarm and work-order tables would hold it."""

    incidents: Sequence[Incident]
    responses: Sequence[MeasuredResponse]
    costs: Costs
    units: int
    dispatches: int


@dataclass(frozen=True)
class Learned:
    demand: DemandModel
    eta: EtaFit
    busy_by_hour: np.ndarray  # share of units busy, per hour of day
    away_s: float  # mean time a dispatched unit is away from patrol


def dispatch_projection(city: City) -> LocalProjection:
    """The dispatch domain's metres, centred where the study's are."""
    return LocalProjection(
        float(np.mean([p.lat for p in city.platforms])),
        float(np.mean([p.lon for p in city.platforms])),
    )


def learn(city: City, days: Sequence[DayRecord]) -> Learned:
    if not days:
        raise ValueError("learning needs at least one other day")
    projection = dispatch_projection(city)
    cells = demand_cells(city.zones, city.targets, projection)
    per_day = float(np.mean([len(d.incidents) for d in days]))
    prior = prior_by_zone(cells, calls_per_day=per_day)
    records = [
        CallRecord(i.lat, i.lon, ResponseTier(i.tier), int(i.called_at // 3600) % 24)
        for d in days
        for i in d.incidents
    ]
    demand = learn_rates(prior, records, days=len(days), projection=projection)
    eta = fit_eta([r for d in days for r in d.responses])
    busy = sum(d.costs.busy_s_by_hour for d in days) / (len(days) * 3600.0 * days[0].units)
    dispatches = sum(d.dispatches for d in days)
    away = float(sum(d.costs.busy_s_by_hour.sum() for d in days) / max(dispatches, 1))
    return Learned(demand, eta, np.clip(busy, MIN_BUSY, MAX_BUSY), away)
