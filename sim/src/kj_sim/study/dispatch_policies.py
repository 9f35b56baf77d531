"""The study's policies that run the dispatch service's own domain code: the same
`StraightLineEta` (with the parameters fitted to other days' responses), `CandidateIndex` and
`policy.decide` the service calls, fed the simulated world's units and calls instead of
Kafka's. Only the translation lives here."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.eta import EtaParams, StraightLineEta
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
        reported_at=DAY_START + timedelta(seconds=incident.called_at),
        received_at=DAY_START + timedelta(seconds=incident.at),
    )


@dataclass
class _DomainView:
    """The simulated fleet as the dispatch domain sees it at one instant."""

    city: City
    eta: EtaParams | None = None
    index: CandidateIndex = field(init=False)
    _units: list[FleetUnit] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        projection = study_projection(self.city)
        self.projection = projection
        self.index = CandidateIndex(
            DispatchProjection(projection.lat0, projection.lon0), StraightLineEta(self.eta)
        )

    def refresh(self, now: datetime, units: Units, incidents: list[Incident]) -> None:
        """The fleet at `now`: the unit objects are kept and updated in place (a day asks
        thousands of times)."""
        lat, lon = self.projection.to_latlon(units.x, units.y)
        fleet = units.fleet
        if not self._units:
            self._units = [
                FleetUnit(
                    unit_id=str(i),
                    platform_id=fleet.platform_ids[int(fleet.platform[i])],
                    kind=fleet.kinds[i],
                    lat=0.0,
                    lon=0.0,
                    fix_at=now,
                    on_patrol=True,
                )
                for i in range(len(fleet.unit_ids))
            ]
        now_ts = now.timestamp()
        states = units.state.tolist()
        headings = units.heading_to.tolist()
        ages = units.fix_age_s.tolist()
        for i, unit in enumerate(self._units):
            state, heading = states[i], headings[i]
            commitment = None
            if state != UnitState.idle and heading >= 0:
                commitment = Commitment(
                    work_order_id=_alarm_id(heading),
                    alarm_id=_alarm_id(heading),
                    priority=incidents[heading].priority,
                    role="primary",
                    status=_STATUS[UnitState(state)],
                )
            unit.lat, unit.lon = float(lat[i]), float(lon[i])
            unit.fix_ts = now_ts - ages[i]
            unit.fix_at = now  # only fix_ts is read by the ETA; the age is in it
            unit.on_patrol = state == UnitState.idle
            unit.commitment = commitment
        self.index.rebuild(self._units, lat, lon, at=0.0)


class SmallestEta:
    """(b) One call at a time in the order they came in, to the free unit with the smallest
    estimated time of arrival (the service's ETA model and candidate search), no batching."""

    name = "smallest ETA"
    batch_window_s = 0.0
    weighs_coverage = False

    def __init__(self, city: City, eta: EtaParams | None = None) -> None:
        self.view = _DomainView(city, eta)

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
    assigned together by priority-weighted lateness, the first unit of any kind, priority-1
    calls may preempt a unit bound for a priority-3/4 call when that call still makes its
    target, the response plans add backups, and (with a weight) the coverage a unit holds up
    counts against sending it."""

    name = "full policy"

    def __init__(
        self,
        city: City,
        plans: ResponsePlans | None = None,
        *,
        eta: EtaParams | None = None,
        coverage_weight_s: float = 0.0,
        eta_spread: float = 0.0,
        name: str | None = None,
    ) -> None:
        self.view = _DomainView(city, eta)
        self.plans = plans or load_plans()
        self.params = PolicyParams(coverage_weight_s=coverage_weight_s, eta_spread=eta_spread)
        self.weighs_coverage = coverage_weight_s > 0
        self.batch_window_s = DispatchSettings.model_fields["batch_window_ms"].default / 1000.0
        if name:
            self.name = name

    def decide(
        self, now: float, pending: list[Incident], units: Units, incidents: list[Incident]
    ) -> list[Order]:
        at = DAY_START + timedelta(seconds=now)
        self.view.refresh(at, units, incidents)
        by_alarm = {_alarm_id(i.index): i.index for i in pending}
        bound_for = {int(h) for h in units.heading_to if h >= 0}
        cost = None
        if units.coverage_cost is not None:
            cost = {str(i): float(c) for i, c in enumerate(units.coverage_cost) if c > 0}
        decision = decide(
            [_call(i) for i in pending],
            index=self.view.index,
            plans=self.plans,
            now=at,
            params=self.params,
            open_calls={_alarm_id(h): _call(incidents[h]) for h in bound_for},
            coverage_cost=cost,
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

    name = "full policy, no backups"

    def __init__(self, city: City, eta: EtaParams | None = None) -> None:
        super().__init__(city, without_backups(load_plans()), eta=eta)
