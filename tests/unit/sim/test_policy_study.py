"""The policy study is a fair, repeatable experiment."""

from kj_schemas.city import load_city
from kj_sim.study.run import run_study, table

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
