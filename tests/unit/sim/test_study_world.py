"""The study's world is fair: units obey their posts, luck belongs to the incident, the clock
starts at the platform's receipt, and a day is never scored with what was learned from it."""

import numpy as np
import pytest

from kj_schemas.city import load_city
from kj_schemas.enums import AlarmCategory, UnitKind
from kj_sim.study.des import Order, Simulation, Units
from kj_sim.study.run import history_of
from kj_sim.study.stats import estimate
from kj_sim.study.world import (
    Fleet,
    Incident,
    Truth,
    congestion,
    day_of_incidents,
    study_projection,
)

from ...stack import SAMPLE_CITY

FLEET = Fleet(
    unit_ids=["M1"],
    kinds=[UnitKind.motorcycle],
    platform=np.array([0]),
    base_x=np.array([0.0]),
    base_y=np.array([0.0]),
    platform_ids=["SY-P01"],
)


class OnePost:
    """Positioning with a single post at (x, y)."""

    patrol_radius_m = 100.0

    def __init__(self, x: float, y: float, *, start_there: bool = True) -> None:
        self.posts_x, self.posts_y = np.array([x]), np.array([y])
        self.start_there = start_there

    def start(self, sim: Simulation) -> list[tuple[int, int]]:
        return [(u, 0) for u in range(sim.n)] if self.start_there else []

    def freed(self, sim: Simulation, now: float, unit: int) -> int | None:
        return 0

    def dispatched(
        self, sim: Simulation, now: float, sent: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        return []

    def coverage_cost(self, sim: Simulation, now: float) -> np.ndarray:
        return np.zeros(sim.n)


class FirstIdle:
    name = "first idle"
    batch_window_s = 0.0
    weighs_coverage = False

    def decide(
        self, now: float, pending: list[Incident], units: Units, incidents: list[Incident]
    ) -> list[Order]:
        idle = np.flatnonzero(units.idle)
        return [Order(pending[0].index, int(idle[0]))] if len(idle) else []


def incident(index: int, x: float, at: float, *, stay: float = 60.0) -> Incident:
    return Incident(index, at, x, 0.0, 0.0, 0.0, AlarmCategory.theft, 3, "central_city", 180, stay)


def test_units_start_at_their_posts_and_patrol_round_them_within_the_radius() -> None:
    sim = Simulation(FLEET, [], FirstIdle(), seed=1, positioning=OnePost(500, 0))
    seen = [sim.positions(t) for t in (0.0, 60.0, 300.0)]
    for x, y in seen:
        assert np.hypot(x[0] - 500, y[0]) <= 100.0 + 1e-6
    assert len({round(float(x[0]), 3) for x, _ in seen}) == 3  # patrolling, not parked


def test_a_freed_unit_drives_back_to_its_post_and_the_trip_is_counted() -> None:
    sim = Simulation(
        FLEET, [incident(0, 0.0, 10.0)], FirstIdle(), seed=1, positioning=OnePost(800, 0)
    )
    sim.run()
    assert sim.outcomes[0].first_arrival_s is not None
    x, y = sim.positions(10_000.0)
    assert np.hypot(x[0] - 800, y[0]) <= 100.0 + 1e-6
    assert sim.costs.moves[0] == 1 and sim.costs.km[0] > 0.6


def test_a_call_takes_a_unit_on_its_way_to_a_post_from_where_it_is() -> None:
    positioning = OnePost(3000, 0, start_there=False)
    sim = Simulation(FLEET, [incident(0, 0.0, 0.0)], FirstIdle(), seed=1, positioning=positioning)
    sim._go_to_post(0.0, 0, 0)
    halfway = (sim.from_t[0] + sim.to_t[0]) / 2
    x, _ = sim.positions(halfway)
    sim.pending.append(0)
    sim._decide(halfway)
    assert sim.post[0] == -1  # the reposition is withdrawn
    assert sim.from_x[0] == pytest.approx(x[0])  # and the unit sets off from where it was
    assert 0 < x[0] < 3000


def test_the_same_incident_meets_the_same_luck_whatever_was_asked_before() -> None:
    one, two = Truth(7, 10), Truth(7, 10)
    first = one.response(5, 0, UnitKind.car, 1000, 3600, moving=False)
    two.response(3, 0, UnitKind.car, 500, 3600, moving=False)
    assert two.response(5, 0, UnitKind.car, 1000, 3600, moving=False) == first
    assert one.response(5, 1, UnitKind.car, 1000, 3600, moving=False) != first


def test_rush_hour_slows_cars_more_than_motorcycles() -> None:
    rush, night = 8.5 * 3600, 3 * 3600
    assert congestion(UnitKind.car, rush) > congestion(UnitKind.motorcycle, rush) > 1.0
    assert congestion(UnitKind.car, night) == 1.0


def test_repeat_callers_are_merged_into_their_incident_and_the_clock_starts_at_receipt() -> None:
    city = load_city(SAMPLE_CITY)
    projection = study_projection(city)
    day = day_of_incidents(city, projection, seed=3, per_day=600, load=1.0, receipt_delay_s=30)
    assert sum(i.callers for i in day) > len(day)
    delays = np.array([i.at - i.called_at for i in day])
    assert (delays > 0).all() and 20 < delays.mean() < 40
    plain = day_of_incidents(
        city,
        projection,
        seed=3,
        per_day=600,
        load=1.0,
        receipt_delay_s=0,
        repeat_callers=False,
        bursts=0,
    )
    assert all(i.at == i.called_at for i in plain)
    merged = sum(i.callers for i in day) - len(day)
    assert merged > 2 * (sum(i.callers for i in plain) - len(plain))  # chance merges are few


def test_a_day_is_never_scored_with_what_was_learned_from_it() -> None:
    seeds = [11, 12, 13, 14, 15]
    for seed in seeds:
        assert sorted(history_of(seed, seeds)) == sorted(s for s in seeds if s != seed)
    alone = history_of(11, [11])
    assert 11 not in alone and len(alone) >= 3


def test_the_interval_is_students_t_over_the_seeds() -> None:
    assert estimate([0.5, 0.5, 0.5]).half_width == 0
    two = estimate([0.0, 2.0])
    assert two.mean == 1.0 and two.half_width == pytest.approx(12.706, rel=1e-3)
