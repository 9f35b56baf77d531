"""The policy study is a fair, repeatable experiment."""

from kj_schemas.city import load_city
from kj_schemas.enums import AlarmCategory
from kj_sim.study.des import Simulation
from kj_sim.study.dispatch_policies import FullPolicy, SmallestEta
from kj_sim.study.run import run_study, table
from kj_sim.study.world import day_of_incidents, fleet_of, study_projection

from ...stack import SAMPLE_CITY


def test_the_same_seed_gives_identical_tables() -> None:
    city = load_city(SAMPLE_CITY)
    first = table(run_study(city, seed=11, per_day=300, loads=(1.0,)))
    second = table(run_study(city, seed=11, per_day=300, loads=(1.0,)))
    assert first == second
    assert "closest idle" in first


def test_more_load_means_more_incidents_on_the_same_day() -> None:
    city = load_city(SAMPLE_CITY)
    rows = run_study(city, seed=11, per_day=300, loads=(1.0, 2.0))
    one, two = (r for r in rows if r.policy.startswith("closest"))
    assert 1.7 < two.incidents / one.incidents < 2.3


def test_the_dispatch_services_own_policies_are_compared() -> None:
    city = load_city(SAMPLE_CITY)
    text = table(run_study(city, seed=11, per_day=300, loads=(1.0,)))
    assert "smallest ETA" in text
    assert "full policy" in text


def test_the_full_policy_sends_what_the_response_plans_ask_for() -> None:
    """Violent crime at priority 1 gets two units by the plan file; smallest ETA sends one."""
    city = load_city(SAMPLE_CITY)
    projection = study_projection(city)
    incidents = day_of_incidents(city, projection, seed=11, per_day=600, load=1.0)
    fleet = fleet_of(city, projection)
    full = Simulation(fleet, incidents, FullPolicy(city), seed=11).run()
    single = Simulation(fleet, incidents, SmallestEta(city), seed=11).run()
    violent = [
        i
        for i, o in enumerate(full)
        if o.incident.category == AlarmCategory.violent_crime and o.incident.priority == 1
    ]
    assert violent, "the seeded day has priority-1 violent crimes"
    assert all(full[i].units_sent + full[i].preempted >= 2 for i in violent)
    assert all(single[i].units_sent == 1 for i in violent)
    assert all(o.first_arrival_s is not None for o in full)
