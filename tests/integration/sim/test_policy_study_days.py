"""The policy study is a fair, repeatable experiment: whole simulated days (tens of seconds of
computing each, so here and not among the unit tests). The checks of the experiment itself
(repeatable, load-driven) run today's policy alone, which needs no planner; one run of every
core variant shows the policies side by side."""

import pytest

from kj_schemas.city import load_city
from kj_sim.study.run import run_seeds, run_study, table
from kj_sim.study.variants import TODAY, core

from ...stack import SAMPLE_CITY

pytestmark = pytest.mark.slow


def today_only() -> list:
    return [v for v in core() if v.name == TODAY]


def test_the_same_seed_gives_identical_tables() -> None:
    city = load_city(SAMPLE_CITY)
    runs = [
        table(run_seeds(city, seeds=[11], per_day=300, loads=(1.0,), chosen=today_only()))
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert "closest idle" in runs[0]


def test_more_load_means_more_incidents_on_the_same_day() -> None:
    city = load_city(SAMPLE_CITY)
    rows = run_seeds(city, seeds=[11], per_day=300, loads=(1.0, 2.0), chosen=today_only())
    one, two = (r for r in rows if r.policy.startswith("closest"))
    assert 1.7 < two.incidents / one.incidents < 2.3


def test_the_dispatch_services_own_policies_are_compared() -> None:
    city = load_city(SAMPLE_CITY)
    text = table(run_study(city, seed=11, per_day=300, loads=(1.0,)))
    assert "smallest ETA" in text
    assert "full policy" in text
