"""The policy study is a fair, repeatable experiment."""

from kj_schemas.city import load_city
from kj_schemas.enums import AlarmCategory
from kj_sim.study.des import Simulation
from kj_sim.study.dispatch_policies import FullPolicy, SmallestEta
from kj_sim.study.world import day_of_incidents, fleet_of, study_projection

from ...stack import SAMPLE_CITY


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
