"""The policy study is a fair, repeatable experiment: whole simulated days (tens of seconds of
computing each, so here and not among the unit tests)."""

import pytest

from kj_schemas.city import load_city
from kj_sim.study.run import run_study, table

from ...stack import SAMPLE_CITY

pytestmark = pytest.mark.slow


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
