"""The assignment policy: which units go to which calls, and why.

Calls pending together are assigned together by minimum-cost assignment over priority-weighted
lateness against each call's tier target, so a burst does not send the one nearby unit to the
less urgent call. Then: preemption of a unit bound for a priority-3/4 call by a priority-1 call
when that saves enough time, backups per the response plan (one more from another platform when
the call is predicted to miss its target), and a shortfall with its reason for calls left over.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import numpy as np
from scipy.optimize import linear_sum_assignment

from kj_dispatch.domain.candidates import CandidateIndex, Search
from kj_dispatch.domain.model import Assignment, Call, Decision, FleetUnit, Option, Shortfall
from kj_dispatch.domain.plans import ResponsePlan, ResponsePlans

PREEMPTABLE_STATUSES = ("assigned", "accepted", "en_route")
_INFEASIBLE = 1e12
_NO_UNIT_LATENESS_S = 3600.0  # what leaving a call without a unit costs, before its weight
_ETA_TIEBREAK = 1e-3  # among plans with equal lateness, the one with less driving wins


@dataclass(frozen=True)
class PolicyParams:
    priority_weight: Mapping[int, float] = field(
        default_factory=lambda: {1: 8.0, 2: 4.0, 3: 2.0, 4: 1.0}
    )
    preempt_min_saving_s: float = 60.0
    preemptable_priorities: frozenset[int] = frozenset({3, 4})
    options_per_call: int = 6


def elapsed_s(call: Call, now: datetime) -> float:
    return max((now - call.reported_at).total_seconds(), 0.0)


def predicted_response_s(call: Call, option: Option, now: datetime) -> float:
    """Response time runs from the citizen's call: time already gone plus the unit's ETA."""
    return elapsed_s(call, now) + option.eta_s


def lateness_cost(call: Call, option: Option, now: datetime, params: PolicyParams) -> float:
    late = max(predicted_response_s(call, option, now) - call.target_s, 0.0)
    return params.priority_weight.get(call.priority, 1.0) * late + _ETA_TIEBREAK * option.eta_s


def solve_batch(
    calls: Sequence[Call],
    options: Mapping[UUID, Sequence[Option]],
    now: datetime,
    params: PolicyParams,
) -> dict[UUID, Option]:
    """Minimum total priority-weighted lateness; each unit to at most one call. A call may be
    left without a unit (a dummy column per call), which costs as much as an hour late."""
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
            cost[i, column[option.unit_id]] = lateness_cost(call, option, now, params)
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
) -> Decision:
    """Assign every call that can be served now; the rest come back as shortfalls."""
    params = params or PolicyParams()
    excluded = excluded or {}
    ordered = sorted(calls, key=lambda c: (c.priority, c.reported_at))
    plan_of: dict[UUID, ResponsePlan] = {}
    searches: dict[UUID, Search] = {}
    preemptable: dict[UUID, list[Option]] = {}
    for call in ordered:
        plan = plans.for_alarm(call.category, call.priority)
        plan_of[call.alarm_id] = plan
        skip = excluded.get(call.alarm_id, set())

        def free(unit: FleetUnit, plan: ResponsePlan = plan, skip: set[str] = skip) -> bool:
            return unit.kind in plan.kinds and unit.unit_id not in skip and unit.dispatchable(now)

        want = params.options_per_call + plan.units
        searches[call.alarm_id] = index.nearest(call.lat, call.lon, now, accept=free, want=want)
        if call.priority == 1:

            def busy_elsewhere(
                unit: FleetUnit, plan: ResponsePlan = plan, skip: set[str] = skip
            ) -> bool:
                c = unit.commitment
                return (
                    c is not None
                    and c.priority in params.preemptable_priorities
                    and c.status in PREEMPTABLE_STATUSES
                    and unit.kind in plan.kinds
                    and unit.unit_id not in skip
                    and unit.on_patrol_or_busy()
                )

            found = index.nearest(call.lat, call.lon, now, accept=busy_elsewhere, want=2)
            preemptable[call.alarm_id] = found.options

    options = {alarm_id: search.options for alarm_id, search in searches.items()}
    chosen = solve_batch(ordered, options, now, params)
    used = {option.unit_id for option in chosen.values()}

    # preemption: a priority-1 call takes a unit from a priority-3/4 call if it saves enough
    for call in ordered:
        for candidate in preemptable.get(call.alarm_id, ()):
            if candidate.unit_id in used:
                continue
            current = chosen.get(call.alarm_id)
            current_eta = current.eta_s if current else float("inf")
            if candidate.eta_s + params.preempt_min_saving_s <= current_eta:
                if current is not None:
                    used.discard(current.unit_id)
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
        decision.assignments.extend(_backups(call, primary, plan, mine, used, at_risk))
    return decision


def _backups(
    call: Call,
    primary: Option,
    plan: ResponsePlan,
    options: Sequence[Option],
    used: set[str],
    at_risk: bool,
) -> list[Assignment]:
    backups: list[Assignment] = []
    for _ in range(plan.units - 1):
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
