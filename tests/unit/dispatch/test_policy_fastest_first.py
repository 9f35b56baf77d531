"""Issue 15's rules of the policy: the fastest unit of any kind first with the plan's kinds
behind it, preemption only when the robbed call still makes its target, the 1/3/5 clock from
the platform's receipt, and the optional weighing of the coverage a unit holds up."""

from dataclasses import replace
from datetime import timedelta

import pytest

from kj_dispatch.domain.model import Decision
from kj_dispatch.domain.plans import load_plans
from kj_dispatch.domain.policy import PolicyParams, decide, expected_lateness
from kj_schemas.enums import AlarmCategory, UnitKind

from .factories import NOW, busy, call, east, make_fleet, north, put

PLANS = load_plans()


def run(fleet, calls, **kwargs) -> Decision:  # type: ignore[no-untyped-def]
    return decide(calls, index=fleet.index, plans=PLANS, now=NOW, **kwargs)


def test_a_posted_motorcycle_answers_a_car_only_plan_first_and_the_car_follows() -> None:
    fleet = make_fleet()
    put(fleet, "POSTED-M", east(80), kind=UnitKind.motorcycle)
    put(fleet, "CAR", north(900), kind=UnitKind.car)
    crash = call(east(0), category=AlarmCategory.traffic_accident, target_s=60)
    primary, backup = run(fleet, [crash]).assignments
    assert (primary.option.unit_id, primary.role) == ("POSTED-M", "primary")
    assert (backup.option.unit_id, backup.role, backup.reason) == ("CAR", "backup", "plan_backup")


def test_when_the_first_unit_is_of_the_plans_kind_no_extra_unit_follows() -> None:
    fleet = make_fleet()
    put(fleet, "CAR", east(80), kind=UnitKind.car)
    put(fleet, "CAR2", north(900), kind=UnitKind.car)
    crash = call(east(0), category=AlarmCategory.traffic_accident, target_s=300)
    assert [a.option.unit_id for a in run(fleet, [crash]).assignments] == ["CAR"]


def robbed_setup():  # type: ignore[no-untyped-def]
    """BUSY is bound for a priority-4 call 400 m north; FREE is far away."""
    fleet = make_fleet()
    put(fleet, "BUSY", east(100))
    minor = call(north(400), priority=4, target_s=300)
    commitment = busy(fleet, "BUSY", priority=4)
    minor = replace(minor, alarm_id=commitment.alarm_id)
    return fleet, minor


def test_preemption_when_the_robbed_call_still_makes_its_target_with_its_next_unit() -> None:
    fleet, minor = robbed_setup()
    put(fleet, "NEXT-FOR-MINOR", north(750))  # 350 m from the minor call: in time for it
    urgent = call(east(0), priority=1, target_s=60)
    decision = run(fleet, [urgent], open_calls={minor.alarm_id: minor})
    (chosen,) = [a for a in decision.assignments if a.role == "primary"]
    assert chosen.option.unit_id == "BUSY" and chosen.reason == "preempted"


def test_no_preemption_when_the_robbed_call_would_then_be_late() -> None:
    fleet, minor = robbed_setup()
    put(fleet, "FAR", east(4000))  # the only other unit: too far for either call
    urgent = call(east(0), priority=1, target_s=60)
    decision = run(fleet, [urgent], open_calls={minor.alarm_id: minor})
    (chosen,) = [a for a in decision.assignments if a.role == "primary"]
    assert chosen.option.unit_id == "FAR"


def test_the_clock_runs_from_the_platforms_receipt_when_it_is_known() -> None:
    fleet = make_fleet()
    put(fleet, "U", east(500))  # about 68 s away
    called_long_ago = call(east(0), target_s=90, waited_s=60)
    late = run(fleet, [called_long_ago]).assignments[0]
    received_now = replace(called_long_ago, received_at=NOW - timedelta(seconds=1))
    on_time = run(fleet, [received_now]).assignments[0]
    assert late.at_risk and not on_time.at_risk


def test_weighing_coverage_sends_the_unit_that_holds_up_less_when_both_are_in_time() -> None:
    fleet = make_fleet()
    put(fleet, "GUARD", east(100))  # the one unit at a key location
    put(fleet, "SPARE", east(-300))
    ordinary = call(east(0), priority=3, target_s=180)
    cost = {"GUARD": 0.5, "SPARE": 0.0}
    blind = run(fleet, [ordinary], coverage_cost=cost).assignments[0]
    weighed = run(
        fleet,
        [ordinary],
        coverage_cost=cost,
        params=PolicyParams(coverage_weight_s=60, eta_spread=0.15),
    ).assignments[0]
    assert blind.option.unit_id == "GUARD"  # weight 0: coverage is not looked at
    assert weighed.option.unit_id == "SPARE"


def test_expected_lateness_costs_a_unit_predicted_just_inside_the_target() -> None:
    assert expected_lateness(170, 0, 180) == 0
    assert expected_lateness(170, 25, 180) > 5
    assert expected_lateness(100, 15, 180) == pytest.approx(0, abs=1e-3)
    assert expected_lateness(200, 1e-9, 180) == pytest.approx(20)
