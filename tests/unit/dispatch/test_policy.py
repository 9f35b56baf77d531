"""Every rule of the assignment policy, on a flat patch of town with no congestion."""

from kj_dispatch.domain.model import Decision
from kj_dispatch.domain.plans import load_plans
from kj_dispatch.domain.policy import PolicyParams, decide
from kj_schemas.enums import AlarmCategory, UnitKind

from .factories import NOW, busy, call, east, make_fleet, north, put

PLANS = load_plans()


def run(fleet, calls, **kwargs) -> Decision:  # type: ignore[no-untyped-def]
    return decide(calls, index=fleet.index, plans=PLANS, now=NOW, **kwargs)


def primaries(decision: Decision) -> dict:  # type: ignore[type-arg]
    return {a.call.alarm_id: a for a in decision.assignments if a.role == "primary"}


def test_the_unit_with_the_smallest_eta_goes_and_the_runner_up_is_recorded() -> None:
    fleet = make_fleet()
    put(fleet, "NEAR", east(200))
    put(fleet, "FAR", east(800))
    alarm = call(east(0))
    (chosen,) = run(fleet, [alarm]).assignments
    assert chosen.option.unit_id == "NEAR"
    assert chosen.reason == "closest_eta"
    assert chosen.runner_up is not None and chosen.runner_up.unit_id == "FAR"
    assert not chosen.at_risk


def test_a_lone_unit_is_chosen_as_only_available() -> None:
    fleet = make_fleet()
    put(fleet, "ONLY", east(300))
    (chosen,) = run(fleet, [call(east(0))]).assignments
    assert chosen.reason == "only_available" and chosen.runner_up is None


def test_a_unit_with_a_stale_fix_is_chosen_with_its_widened_eta_and_says_so() -> None:
    fleet = make_fleet()
    put(fleet, "STALE", east(100), fix_age_s=90)
    put(fleet, "FRESH", east(900))
    (chosen,) = run(fleet, [call(east(0), target_s=300)]).assignments
    assert chosen.option.unit_id == "STALE"
    assert chosen.reason == "stale_location_widened"


def test_batch_meets_two_60s_targets_where_greedy_nearest_misses_one() -> None:
    fleet = make_fleet()
    a, b = call(east(0)), call(east(600))
    put(fleet, "U1", east(250))  # nearest to both
    put(fleet, "U2", east(-350))  # only good for A
    # greedy: A takes its nearest (U1), and B is left with U2, 950 m away
    greedy_a = run(fleet, [a]).assignments[0]
    assert greedy_a.option.unit_id == "U1"
    fleet_without_u1 = make_fleet()
    put(fleet_without_u1, "U2", east(-350))
    (greedy_b,) = run(fleet_without_u1, [b]).assignments
    assert greedy_b.option.eta_s > 60 and greedy_b.at_risk  # greedy misses B's target
    decision = run(fleet, [a, b])
    chosen = primaries(decision)
    assert chosen[a.alarm_id].option.unit_id == "U2"
    assert chosen[b.alarm_id].option.unit_id == "U1"
    assert all(x.option.eta_s <= 60 and not x.at_risk for x in chosen.values())
    assert chosen[a.alarm_id].reason == "batch_assignment"


def test_a_burst_sends_the_one_nearby_unit_to_the_more_urgent_call() -> None:
    fleet = make_fleet()
    put(fleet, "NEAR", east(50))
    urgent = call(east(0), priority=1, target_s=180)
    minor = call(east(10), priority=4, target_s=180)
    decision = run(fleet, [minor, urgent])
    assert primaries(decision)[urgent.alarm_id].option.unit_id == "NEAR"
    assert [s.call.alarm_id for s in decision.shortfalls] == [minor.alarm_id]


def test_a_predicted_miss_is_at_risk_still_sends_the_best_and_a_backup_from_another_platform() -> (
    None
):
    fleet = make_fleet()
    put(fleet, "P1-A", east(2000), platform="SY-P01")
    put(fleet, "P1-B", east(2100), platform="SY-P01")
    put(fleet, "P2-A", east(2500), platform="SY-P02")
    decision = run(fleet, [call(east(0), category=AlarmCategory.suicide_attempt)])
    primary, backup = decision.assignments
    assert primary.role == "primary" and primary.option.unit_id == "P1-A" and primary.at_risk
    assert backup.role == "backup" and backup.option.platform_id == "SY-P02"
    assert backup.reason == "at_risk_backup"


def test_violent_crime_at_priority_1_gets_two_units_and_a_crash_a_car_behind_the_first() -> None:
    """Issue 15 changed the crash: the fastest unit of any kind goes first, the plan's car
    follows as backup (it was the car alone, the nearby motorcycle idle)."""
    fleet = make_fleet()
    put(fleet, "M1", east(100), kind=UnitKind.motorcycle)
    put(fleet, "M2", east(120), kind=UnitKind.motorcycle)
    put(fleet, "C1", north(300), kind=UnitKind.car)
    violent = run(fleet, [call(east(0), category=AlarmCategory.violent_crime, target_s=300)])
    assert sorted(a.role for a in violent.assignments) == ["backup", "primary"]
    crash = run(fleet, [call(east(0), category=AlarmCategory.traffic_accident, target_s=300)])
    assert [(a.option.unit_id, a.role) for a in crash.assignments] == [
        ("M1", "primary"),
        ("C1", "backup"),
    ]


def test_no_unit_in_range_is_a_shortfall_saying_so() -> None:
    fleet = make_fleet()
    put(fleet, "FAR", north(200_000))
    (shortfall,) = run(fleet, [call(east(0))]).shortfalls
    assert shortfall.reason == "none_in_range"


def test_all_units_busy_is_a_shortfall_saying_so() -> None:
    fleet = make_fleet()
    put(fleet, "U1", east(100))
    busy(fleet, "U1", priority=1)
    (shortfall,) = run(fleet, [call(east(0), priority=2)]).shortfalls
    assert shortfall.reason == "all_busy"


def test_units_with_too_old_fixes_are_a_shortfall_saying_so() -> None:
    fleet = make_fleet()
    put(fleet, "U1", east(100), fix_age_s=3600)
    (shortfall,) = run(fleet, [call(east(0))]).shortfalls
    assert shortfall.reason == "locations_stale"


def test_priority_1_preempts_a_unit_bound_for_a_priority_4_call_when_it_saves_enough() -> None:
    fleet = make_fleet()
    put(fleet, "BUSY", east(100))
    taken = busy(fleet, "BUSY", priority=4)
    put(fleet, "FREE", east(3000))
    (chosen,) = run(fleet, [call(east(0), priority=1, target_s=180)]).assignments
    assert chosen.option.unit_id == "BUSY" and chosen.reason == "preempted"
    assert chosen.option.preempts == taken
    assert chosen.runner_up is not None and chosen.runner_up.unit_id == "FREE"


def test_no_preemption_when_the_saving_is_small() -> None:
    fleet = make_fleet()
    put(fleet, "BUSY", east(100))
    busy(fleet, "BUSY", priority=4)
    put(fleet, "FREE", east(300))
    (chosen,) = run(
        fleet, [call(east(0))], params=PolicyParams(preempt_min_saving_s=60)
    ).assignments
    assert chosen.option.unit_id == "FREE"


def test_no_preemption_of_urgent_calls_or_by_less_urgent_ones() -> None:
    fleet = make_fleet()
    put(fleet, "ON_P2", east(100))
    busy(fleet, "ON_P2", priority=2)
    put(fleet, "ON_P4", east(100))
    busy(fleet, "ON_P4", priority=4)
    decision = run(fleet, [call(east(0), priority=2)])
    assert decision.assignments == [] and decision.shortfalls[0].reason == "all_busy"
    urgent = run(fleet, [call(east(0), priority=1)])
    assert [a.option.unit_id for a in urgent.assignments] == ["ON_P4"]


def test_a_unit_excluded_for_a_call_is_not_sent_again() -> None:
    fleet = make_fleet()
    put(fleet, "SILENT", east(100))
    put(fleet, "NEXT", east(400))
    alarm = call(east(0))
    (chosen,) = run(fleet, [alarm], excluded={alarm.alarm_id: {"SILENT"}}).assignments
    assert chosen.option.unit_id == "NEXT"


def test_an_unresponsive_unit_is_not_dispatchable_until_its_mark_expires() -> None:
    from datetime import timedelta

    fleet = make_fleet()
    put(fleet, "SILENT", east(100))
    fleet.mark_unresponsive("SILENT", NOW + timedelta(seconds=60))
    assert run(fleet, [call(east(0))]).shortfalls
