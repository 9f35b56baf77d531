"""The assignment policy: which units go to which calls, and why.

Calls pending together are assigned together by minimum-cost assignment over priority-weighted
lateness against each call's tier target, so a burst does not send the one nearby unit to the
less urgent call. The first unit may be of any kind (the fastest on the ETA: a posted
motorcycle answers a traffic accident first); the response plan's kinds follow as backups.
Then: preemption of a unit bound for a priority-3/4 call by a priority-1 call when that saves
enough time and the robbed call still makes its target with its next unit, backups per the
response plan (one more from another platform when the call is predicted to miss its target),
and a shortfall with its reason for calls left over. Optionally, coverage-aware: taking a unit
costs the coverage it holds up (`coverage_cost`, from the positioning planner), weighed against
lateness by `coverage_weight_s`.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import numpy as np
from scipy.optimize import linear_sum_assignment

from kj_dispatch.domain.candidates import CandidateIndex, Search
from kj_dispatch.domain.model import Assignment, Call, Decision, FleetUnit, Option, Shortfall
from kj_dispatch.domain.plans import ResponsePlan, ResponsePlans
from kj_schemas.enums import UnitKind

PREEMPTABLE_STATUSES = ("assigned", "accepted", "en_route")
_INFEASIBLE = 1e12
_NO_UNIT_LATENESS_S = 3600.0  # what leaving a call without a unit costs, before its weight
_ETA_TIEBREAK = 1e-3  # among plans with equal lateness, the one with less driving wins
_EVERY_KIND = frozenset(UnitKind)


@dataclass(frozen=True)
class PolicyParams:
    priority_weight: Mapping[int, float] = field(
        default_factory=lambda: {1: 8.0, 2: 4.0, 3: 2.0, 4: 1.0}
    )
    preempt_min_saving_s: float = 60.0
    preemptable_priorities: frozenset[int] = frozenset({3, 4})
    options_per_call: int = 6
    # seconds of priority-weighted lateness one expected on-target call lost to the coverage
    # is worth; 0 leaves coverage out of the choice (the study decides, docs/decisions/0061)
    coverage_weight_s: float = 0.0
    # the ETA's relative spread (measured ÷ predicted, from the calibration): above 0 a unit
    # is costed by its expected lateness, so a unit predicted just inside the target is not
    # taken as safe; 0 keeps lateness as predicted
    eta_spread: float = 0.0


def elapsed_s(call: Call, now: datetime) -> float:
    return max((now - call.clock_start).total_seconds(), 0.0)


def predicted_response_s(call: Call, option: Option, now: datetime) -> float:
    """Response time runs from the call's clock start (the platform's receipt when known,
    else the citizen's call): time already gone plus the unit's ETA."""
    return elapsed_s(call, now) + option.eta_s


def lateness_cost(
    call: Call,
    option: Option,
    now: datetime,
    params: PolicyParams,
    coverage_cost: Mapping[str, float] | None = None,
) -> float:
    slack = call.target_s - elapsed_s(call, now)  # seconds the unit may take
    if params.eta_spread > 0:
        late = expected_lateness(option.eta_s, params.eta_spread * option.eta_s, slack)
    else:
        late = max(option.eta_s - slack, 0.0)
    cost = params.priority_weight.get(call.priority, 1.0) * late + _ETA_TIEBREAK * option.eta_s
    if coverage_cost and params.coverage_weight_s:
        cost += params.coverage_weight_s * coverage_cost.get(option.unit_id, 0.0)
    return cost


def expected_lateness(mean_s: float, sd_s: float, slack_s: float) -> float:
    """E[max(T − slack, 0)] for a travel time T ~ Normal(mean, sd)."""
    if sd_s <= 0:
        return max(mean_s - slack_s, 0.0)
    z = (slack_s - mean_s) / sd_s
    density = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    tail = 0.5 * math.erfc(z / math.sqrt(2))
    return sd_s * density + (mean_s - slack_s) * tail


def solve_batch(
    calls: Sequence[Call],
    options: Mapping[UUID, Sequence[Option]],
    now: datetime,
    params: PolicyParams,
    coverage_cost: Mapping[str, float] | None = None,
) -> dict[UUID, Option]:
    """Minimum total priority-weighted lateness (plus coverage given up, when weighed); each
    unit to at most one call. A call may be left without a unit (a dummy column per call),
    which costs as much as an hour late."""
    units = sorted({o.unit_id for c in calls for o in options.get(c.alarm_id, ())})
    if not calls or not units:
        return {}
    column = {unit_id: j for j, unit_id in enumerate(units)}
    n, m = len(calls), len(units)
    cost = np.full((n, m + n), _INFEASIBLE)
    for i, call in enumerate(calls):
        weight = params.priority_weight.get(call.priority, 1.0)
        cost[i, m + i] = weight * _NO_UNIT_LATENESS_S + 1.0
        for option in options.get(call.alarm_id, ()):
            cost[i, column[option.unit_id]] = lateness_cost(
                call, option, now, params, coverage_cost
            )
    rows, cols = linear_sum_assignment(cost)
    chosen: dict[UUID, Option] = {}
    for i, j in zip(rows, cols, strict=True):
        if j < m and cost[i, j] < _INFEASIBLE:
            call = calls[i]
            chosen[call.alarm_id] = next(o for o in options[call.alarm_id] if o.unit_id == units[j])
    return chosen


def reason_for(option: Option, options: Sequence[Option]) -> str:
    if option.preempts is not None:
        return "preempted"
    if len(options) == 1:
        return "only_available"
    if option.stale:
        return "stale_location_widened"
    if option.unit_id == options[0].unit_id:
        return "closest_eta"
    return "batch_assignment"  # a nearer unit went to a more urgent call of the same batch


def runner_up_for(option: Option, options: Sequence[Option]) -> Option | None:
    return next((o for o in options if o.unit_id != option.unit_id), None)


def shortfall_reason(search: Search) -> str:
    if search.in_range == 0:
        return "none_in_range"
    if search.free > 0 and search.too_stale == search.free:
        return "locations_stale"
    return "all_busy"


def decide(
    calls: Sequence[Call],
    *,
    index: CandidateIndex,
    plans: ResponsePlans,
    now: datetime,
    params: PolicyParams | None = None,
    excluded: Mapping[UUID, set[str]] | None = None,
    open_calls: Mapping[UUID, Call] | None = None,
    coverage_cost: Mapping[str, float] | None = None,
) -> Decision:
    """Assign every call that can be served now; the rest come back as shortfalls.

    `open_calls` are the calls that busy units are bound for: with them, a unit is preempted
    only when its call still makes its target with its next unit. Without them (a caller that
    does not know them yet) preemption keeps its first rule: the saving alone decides.
    `coverage_cost`: per unit, the expected on-target calls lost while it is away."""
    params = params or PolicyParams()
    excluded = excluded or {}
    ordered = sorted(calls, key=lambda c: (c.priority, c.clock_start))
    plan_of: dict[UUID, ResponsePlan] = {}
    searches: dict[UUID, Search] = {}
    backup_options: dict[UUID, list[Option]] = {}
    preemptable: dict[UUID, list[Option]] = {}
    for call in ordered:
        plan = plans.for_alarm(call.category, call.priority)
        plan_of[call.alarm_id] = plan
        skip = excluded.get(call.alarm_id, set())

        def free(unit: FleetUnit, skip: set[str] = skip) -> bool:
            return unit.unit_id not in skip and unit.dispatchable(now)

        want = params.options_per_call + plan.units
        search = index.nearest(call.lat, call.lon, now, accept=free, want=want)
        searches[call.alarm_id] = search
        backup_options[call.alarm_id] = search.options
        if plan.kinds != _EVERY_KIND:  # the plan's kinds follow the first unit as backups

            def of_plan(unit: FleetUnit, plan: ResponsePlan = plan, skip: set[str] = skip) -> bool:
                return unit.kind in plan.kinds and free(unit, skip)

            backup_options[call.alarm_id] = index.nearest(
                call.lat, call.lon, now, accept=of_plan, want=plan.units + 2
            ).options
        if call.priority == 1:

            def busy_elsewhere(unit: FleetUnit, skip: set[str] = skip) -> bool:
                c = unit.commitment
                return (
                    c is not None
                    and c.priority in params.preemptable_priorities
                    and c.status in PREEMPTABLE_STATUSES
                    and unit.unit_id not in skip
                    and unit.on_patrol_or_busy()
                )

            found = index.nearest(call.lat, call.lon, now, accept=busy_elsewhere, want=2)
            preemptable[call.alarm_id] = found.options

    options = {alarm_id: search.options for alarm_id, search in searches.items()}
    chosen = solve_batch(ordered, options, now, params, coverage_cost)
    used = {option.unit_id for option in chosen.values()}

    # preemption: a priority-1 call takes a unit from a priority-3/4 call if it saves enough
    # and the robbed call can still be reached in time by another unit
    for call in ordered:
        for candidate in preemptable.get(call.alarm_id, ()):
            if candidate.unit_id in used:
                continue
            current = chosen.get(call.alarm_id)
            current_eta = current.eta_s if current else float("inf")
            if candidate.eta_s + params.preempt_min_saving_s > current_eta:
                break
            if current is not None:
                used.discard(current.unit_id)  # the preemption frees the call's first choice
            if open_calls is not None:
                relief = _relief_for_robbed(candidate, open_calls, index, now, used)
                if relief is None:  # the robbed call would be late: try the next busy unit
                    if current is not None:
                        used.add(current.unit_id)
                    continue
                used.add(relief)  # kept free for the robbed call, planned again next batch
            chosen[call.alarm_id] = candidate
            used.add(candidate.unit_id)
            break

    decision = Decision()
    for call in ordered:
        primary = chosen.get(call.alarm_id)
        if primary is None:
            decision.shortfalls.append(Shortfall(call, shortfall_reason(searches[call.alarm_id])))
            continue
        mine = options[call.alarm_id]
        ranked = mine if primary.preempts is None else [primary, *mine]
        at_risk = predicted_response_s(call, primary, now) > call.target_s
        decision.assignments.append(
            Assignment(
                call,
                primary,
                "primary",
                reason_for(primary, ranked),
                runner_up_for(primary, ranked),
                at_risk,
            )
        )
        plan = plan_of[call.alarm_id]
        decision.assignments.extend(
            _backups(call, primary, plan, backup_options[call.alarm_id], used, at_risk)
        )
    return decision


def _relief_for_robbed(
    candidate: Option,
    open_calls: Mapping[UUID, Call],
    index: CandidateIndex,
    now: datetime,
    used: set[str],
) -> str | None:
    """The free unit that would still get the robbed call there in time, if there is one."""
    commitment = candidate.preempts
    robbed = open_calls.get(commitment.alarm_id) if commitment is not None else None
    if robbed is None:
        return None

    def free(unit: FleetUnit) -> bool:
        return unit.unit_id not in used and unit.dispatchable(now)

    found = index.nearest(robbed.lat, robbed.lon, now, accept=free, want=1).options
    if found and predicted_response_s(robbed, found[0], now) <= robbed.target_s:
        return found[0].unit_id
    return None


def _backups(
    call: Call,
    primary: Option,
    plan: ResponsePlan,
    options: Sequence[Option],
    used: set[str],
    at_risk: bool,
) -> list[Assignment]:
    """The plan's units after the first: all of them when the first is not of the plan's
    kinds (a motorcycle first at a crash, the plan's car behind it)."""
    backups: list[Assignment] = []
    wanted = plan.units - 1 if primary.kind in plan.kinds else plan.units
    for _ in range(wanted):
        option = next((o for o in options if o.unit_id not in used), None)
        if option is None:
            break
        used.add(option.unit_id)
        backups.append(Assignment(call, option, "backup", "plan_backup", None, at_risk))
    if at_risk and plan.backup_on_risk:
        # the primary will be late: the next platform sends one more
        taken = {primary.platform_id, *(b.option.platform_id for b in backups)}
        option = next(
            (o for o in options if o.unit_id not in used and o.platform_id not in taken), None
        )
        if option is not None:
            used.add(option.unit_id)
            backups.append(Assignment(call, option, "backup", "at_risk_backup", None, True))
    return backups
