"""Policies (b) and (c) of the study, run by the dispatch service's own domain code: the same
`StraightLineEta`, `CandidateIndex` and `policy.decide` the service calls, fed the simulated
world's units and calls instead of Kafka's. Only the translation lives here."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.eta import StraightLineEta
from kj_dispatch.domain.model import Call, Commitment, FleetUnit
from kj_dispatch.domain.plans import ResponsePlan, ResponsePlans, load_plans
from kj_dispatch.domain.policy import PolicyParams, decide
from kj_dispatch.settings import DispatchSettings
from kj_schemas.city import City
from kj_schemas.enums import ResponseTier
from kj_schemas.geo import LocalProjection as DispatchProjection
from kj_sim.study.des import Order, Units, UnitState
from kj_sim.study.world import DAY_START, Incident, study_projection

_STATUS = {UnitState.en_route: "en_route", UnitState.on_scene: "on_scene"}


def _alarm_id(incident: int) -> uuid.UUID:
    return uuid.UUID(int=incident + 1)


def _call(incident: Incident) -> Call:
    return Call(
        alarm_id=_alarm_id(incident.index),
        lat=incident.lat,
        lon=incident.lon,
        priority=incident.priority,
        category=incident.category,
        tier=ResponseTier(incident.tier),
        target_s=float(incident.target),
        reported_at=DAY_START + timedelta(seconds=incident.at),
    )


@dataclass
class _DomainView:
    """The simulated fleet as the dispatch domain sees it at one instant."""

    city: City
    index: CandidateIndex = field(init=False)

    def __post_init__(self) -> None:
        projection = study_projection(self.city)
        self.projection = projection
        self.index = CandidateIndex(
            DispatchProjection(projection.lat0, projection.lon0), StraightLineEta()
        )

    def refresh(self, now: datetime, units: Units, incidents: list[Incident]) -> None:
        lat, lon = self.projection.to_latlon(units.x, units.y)
        fleet = units.fleet
        platform_ids = fleet.platform_ids
        fleet_units = []
        for i in range(len(fleet.unit_ids)):
            state = UnitState(int(units.state[i]))
            heading = int(units.heading_to[i])
            commitment = None
            if state != UnitState.idle and heading >= 0:
                commitment = Commitment(
                    work_order_id=_alarm_id(heading),
                    alarm_id=_alarm_id(heading),
                    priority=incidents[heading].priority,
                    role="primary",
                    status=_STATUS[state],
                )
            fleet_units.append(
                FleetUnit(
                    unit_id=str(i),
                    platform_id=platform_ids[int(fleet.platform[i])],
                    kind=fleet.kinds[i],
                    lat=float(lat[i]),
                    lon=float(lon[i]),
                    fix_at=now - timedelta(seconds=float(units.fix_age_s[i])),
                    on_patrol=state == UnitState.idle,
                    commitment=commitment,
                )
            )
        self.index.rebuild(fleet_units, at=0.0)


class SmallestEta:
    """(b) One call at a time in the order they came in, to the free unit with the smallest
    estimated time of arrival (the service's ETA model and candidate search), no batching."""

    name = "smallest ETA"
    batch_window_s = 0.0

    def __init__(self, city: City) -> None:
        self.view = _DomainView(city)

    def decide(
        self, now: float, pending: list[Incident], units: Units, incidents: list[Incident]
    ) -> list[Order]:
        at = DAY_START + timedelta(seconds=now)
        self.view.refresh(at, units, incidents)
        taken: set[str] = set()
        orders = []
        for incident in sorted(pending, key=lambda i: i.at):
            search = self.view.index.nearest(
                incident.lat,
                incident.lon,
                at,
                accept=lambda u: u.unit_id not in taken and u.dispatchable(at),
                want=1,
            )
            if search.options:
                best = search.options[0].unit_id
                taken.add(best)
                orders.append(Order(incident.index, int(best)))
        return orders


class FullPolicy:
    """(c) The dispatch service's policy as it runs: calls pending within its batch window are
    assigned together by priority-weighted lateness, priority-1 calls may preempt a unit bound
    for a priority-3/4 call, and the response plans add backups."""

    name = "full policy (ETA, batch, preemption, backup)"

    def __init__(self, city: City, plans: ResponsePlans | None = None) -> None:
        self.view = _DomainView(city)
        self.plans = plans or load_plans()
        self.params = PolicyParams()
        self.batch_window_s = DispatchSettings.model_fields["batch_window_ms"].default / 1000.0

    def decide(
        self, now: float, pending: list[Incident], units: Units, incidents: list[Incident]
    ) -> list[Order]:
        at = DAY_START + timedelta(seconds=now)
        self.view.refresh(at, units, incidents)
        by_alarm = {_alarm_id(i.index): i.index for i in pending}
        decision = decide(
            [_call(i) for i in pending],
            index=self.view.index,
            plans=self.plans,
            now=at,
            params=self.params,
        )
        return [
            Order(
                by_alarm[a.call.alarm_id],
                int(a.option.unit_id),
                preempt=a.option.preempts is not None,
            )
            for a in decision.assignments
        ]


def without_backups(plans: ResponsePlans) -> ResponsePlans:
    """The same plans with one unit per call and no backup when at risk."""

    def single(plan: ResponsePlan) -> ResponsePlan:
        return plan.model_copy(update={"units": 1, "backup_on_risk": False})

    return ResponsePlans(
        default=single(plans.default),
        plans={
            category: {key: single(plan) for key, plan in table.items()}
            for category, table in plans.plans.items()
        },
    )


class NoBackups(FullPolicy):
    """The full policy less its backups: shows what the backups cost or gain under load."""

    name = "ETA, batch, preemption; no backups"

    def __init__(self, city: City) -> None:
        super().__init__(city, without_backups(load_plans()))
