"""The positioning planner: where free units are posted, what it may not do, when it moves
an idle unit up, and what it says the coverage is."""

import numpy as np
import pytest

from kj_dispatch.domain.book import Book
from kj_dispatch.domain.positioning import Move, MoveUpRule, PlannerLimits, PositionPlanner
from kj_dispatch.domain.reach import Reach
from kj_dispatch.service_layer.ownership import Ownership
from kj_dispatch.service_layer.positioning import Positioning
from kj_schemas.enums import ResponseTier, UnitKind

from .factories import NOW, east, make_fleet, put
from .planning_world import ETA, POSTS, PROJECTION, SURE, at, demand, planner, unit

HOUR = 10


def test_a_freed_motorcycle_goes_to_the_key_location_nobody_covers() -> None:
    fleet = [
        unit("AT-K1-1", post="K1-a"),
        unit("AT-K1-2", post="K1-b"),
        unit("FREE", where=(300.0, 0.0), settled=False),
    ]
    move = planner().best_post("FREE", fleet, hour=HOUR, busy_fraction=0.1)
    assert move is not None and move.post_id == "K2-a" and move.reason == "freed"
    assert move.gain > 0


def test_two_units_freed_in_one_pass_take_the_two_uncovered_key_locations() -> None:
    """Each free unit's choice sees the post given to the one before it: both key locations
    get a unit, instead of both units driving to the same one."""
    fleet = [
        unit("FREE-1", where=(300.0, 0.0), settled=False),
        unit("FREE-2", where=(300.0, 0.0), settled=False),
        unit("BUSY", where=(0.0, 0.0), available=False),
    ]
    moves = planner().running_pass(fleet, hour=HOUR, busy_fraction=0.1, free_limit=5)
    assert {m.unit_id for m in moves} == {"FREE-1", "FREE-2"}
    assert {m.post_id.split("-")[0] for m in moves} == {"K1", "K2"}
    limited = planner().running_pass(fleet, hour=HOUR, busy_fraction=0.1, free_limit=1)
    assert [m.unit_id for m in limited] == ["FREE-1"]


def test_no_more_units_inside_a_key_location_than_its_limit_nor_near_it_than_the_other() -> None:
    only_k1 = demand(key_only="K1")
    fleet = [unit("A", post="K1-a"), unit("B", post="K1-b"), unit("FREE", where=(900.0, 0.0))]
    two_inside = planner(PlannerLimits(max_units_per_key_location=2), only_k1)
    move = two_inside.best_post("FREE", fleet, hour=HOUR, busy_fraction=0.1)
    assert move is not None and move.post_id == "K1-ring"  # the edge, outside the zone
    two_near = planner(
        PlannerLimits(max_units_per_key_location=2, max_units_near_key_location=2), only_k1
    )
    move = two_near.best_post("FREE", fleet, hour=HOUR, busy_fraction=0.1)
    assert move is not None and move.post_id not in {"K1-a", "K1-b", "K1-c", "K1-ring"}


def test_a_car_is_not_given_a_one_minute_post_and_a_motorcycle_is() -> None:
    only_k1 = demand(key_only="K1")
    plan = planner(model=only_k1)
    car = plan.best_post(
        "CAR", [unit("CAR", kind=UnitKind.car, where=(900, 0))], hour=HOUR, busy_fraction=0.1
    )
    moto = plan.best_post("M", [unit("M", where=(900, 0))], hour=HOUR, busy_fraction=0.1)
    assert car is not None and car.post_id == "K1-ring"
    assert moto is not None and moto.post_id.startswith("K1-") and moto.post_id != "K1-ring"


def test_the_command_vehicle_stays_at_its_platform() -> None:
    move = planner(model=demand(key_only="K1")).best_post(
        "CMD",
        [unit("CMD", kind=UnitKind.command_vehicle, where=(900, 0))],
        hour=HOUR,
        busy_fraction=0.1,
    )
    assert move is not None and move.post_id == "P1"


def test_a_unit_is_never_posted_outside_its_platform_area() -> None:
    only_k2 = demand(key_only="K2")  # 3.5 km from P2
    fleet = [unit("P2-M", platform="P2", where=(2500, 0))]
    move = planner(PlannerLimits(platform_area_m=3000), only_k2).best_post(
        "P2-M", fleet, hour=HOUR, busy_fraction=0.1
    )
    assert move is not None and move.post_id != "K2-a"


def test_the_shift_plan_posts_every_unit_within_the_limits() -> None:
    fleet = [unit(f"M{i}", where=(0, 0), settled=False) for i in range(6)]
    fleet.append(unit("CMD", kind=UnitKind.command_vehicle))
    plan = planner(PlannerLimits(max_units_per_key_location=2)).shift_plan(
        fleet, hour=HOUR, busy_fraction=0.1
    )
    posts = {m.unit_id: m.post_id for m in plan}
    assert set(posts) == {u.unit_id for u in fleet}
    assert posts["CMD"] == "P1"
    inside_k1 = [p for p in posts.values() if p in {"K1-a", "K1-b", "K1-c"}]
    assert len(inside_k1) <= 2
    assert {"K1-a", "K1-b", "K1-c", "K1-ring"} & set(posts.values())  # K1 is held...
    assert "K2-a" in posts.values()  # ...and so is the other key location


def test_a_unit_already_at_its_planned_post_gets_no_move() -> None:
    plan = planner(model=demand(key_only="K1"))
    fleet = [unit("M", post="K1-a")]
    assert plan.shift_plan(fleet, hour=HOUR, busy_fraction=0.1) == []


@pytest.mark.parametrize("units", [1, 2, 3])
def test_with_sure_reach_the_coverage_is_one_minus_q_to_the_k(units: int) -> None:
    q = 0.3
    fleet = [unit(f"M{i}", post="K1-a") for i in range(units)]
    report = planner(PlannerLimits(max_units_per_key_location=5), demand(key_only="K1")).coverage(
        fleet, hour=HOUR, busy_fraction=q
    )
    assert report.by_tier[ResponseTier.key_location] == pytest.approx(1 - q**units, abs=1e-3)


def test_the_loss_of_a_unit_is_what_it_alone_covers() -> None:
    fleet = [unit("ALONE", post="K1-a"), unit("IDLE", post="NORTH")]
    report = planner(model=demand(key_only="K1")).coverage(fleet, hour=HOUR, busy_fraction=0.1)
    assert report.loss_by_unit["ALONE"] > 0
    assert report.loss_by_unit["IDLE"] == pytest.approx(0.0, abs=1e-9)


def test_a_move_up_fills_the_hole_a_dispatch_opened() -> None:
    only_k1 = demand(key_only="K1", calls_per_day=2400)
    gone = unit("SENT", post="K1-a", available=False)
    fleet = [gone, unit("SPARE", post="NORTH")]
    moves = planner(model=only_k1).move_ups(
        fleet, hour=HOUR, busy_fraction=0.1, rule=MoveUpRule(radius_m=3000), vacated=[gone]
    )
    assert [(m.unit_id, m.reason) for m in moves] == [("SPARE", "move_up")]
    assert moves[0].post_id.startswith("K1-")


def test_no_move_up_when_the_dispatch_left_no_hole() -> None:
    only_k1 = demand(key_only="K1", calls_per_day=2400)
    gone = unit("SENT", post="SOUTH", available=False)  # a post with nothing to cover
    fleet = [gone, unit("SPARE", post="NORTH")]
    moves = planner(model=only_k1).move_ups(
        fleet, hour=HOUR, busy_fraction=0.1, rule=MoveUpRule(radius_m=5000), vacated=[gone]
    )
    assert moves == []


def test_no_move_up_for_a_unit_that_spent_its_budget_this_hour() -> None:
    only_k1 = demand(key_only="K1", calls_per_day=2400)
    gone = unit("SENT", post="K1-a", available=False)
    fleet = [gone, unit("SPARE", post="NORTH", move_ups=1)]
    rule = MoveUpRule(budget_per_unit_hour=1, radius_m=3000)
    moves = planner(model=only_k1).move_ups(
        fleet, hour=HOUR, busy_fraction=0.1, rule=rule, vacated=[gone]
    )
    assert moves == []


def test_the_move_up_threshold_grows_with_load() -> None:
    only_k1 = demand(key_only="K1", calls_per_day=2400)
    gone = unit("SENT", post="K1-a", available=False)
    fleet = [gone, unit("SPARE", post="NORTH")]
    rule = MoveUpRule(min_gain=0.05, load_scale=50.0, radius_m=3000)
    plan = planner(model=only_k1)
    quiet = plan.move_ups(fleet, hour=HOUR, busy_fraction=0.01, rule=rule, vacated=[gone])
    busy = plan.move_ups(fleet, hour=HOUR, busy_fraction=0.5, rule=rule, vacated=[gone])
    assert len(quiet) == 1 and busy == []


def test_the_busy_fraction_must_be_a_share() -> None:
    with pytest.raises(ValueError, match="busy fraction"):
        planner().coverage([unit("M", post="P1")], hour=HOUR, busy_fraction=1.0)


def test_with_every_unit_on_a_call_the_positioning_pass_still_plans() -> None:
    """A burst that takes every unit (a storm, a stadium) must not stop the positioning loop:
    dispatch's loop feeds the planner a busy share below one."""
    fleet = [unit("M", post="P1", available=False), unit("N", post="P2", available=False)]
    q = Positioning.busy_fraction(fleet)
    assert q < 1.0
    report = planner().coverage(fleet, hour=HOUR, busy_fraction=q)
    assert report.overall == pytest.approx(0.0)


class _Here:
    """The planner called in this process (the service calls it in a child, decision 0095), so
    that its arithmetic can take the region away meanwhile."""

    def __init__(self, planner: object) -> None:
        self.planner = planner

    async def call(self, method: str, *args: object, **kwargs: object) -> object:
        return getattr(self.planner, method)(*args, **kwargs)


class _RegionLostWhilePlanning:
    """A planner during whose arithmetic (in its own process) the replica loses its region,
    as the chaos run's paused dispatch replica did when it woke up fenced."""

    posts: tuple[()] = ()

    def serves(self, platform_id: str) -> bool:
        return True

    def __init__(self, ownership: Ownership) -> None:
        self.ownership = ownership

    def shift_plan(self, units: object, *, hour: int, busy_fraction: float) -> list[Move]:
        self.ownership.held.clear()
        return [Move("SY-P01-M1", "K1-a", "shift_plan", 1.0)]


async def test_a_pass_whose_region_went_elsewhere_while_it_planned_writes_nothing() -> None:
    fleet = make_fleet()
    put(fleet, "SY-P01-M1", east(100))
    book = Book(fleet)
    ownership = Ownership(pool=None, book=book, instance="a")  # type: ignore[arg-type]
    ownership.held["hunan-shaoyang"] = 1
    planner = _RegionLostWhilePlanning(ownership)
    positioning = Positioning(
        planner=planner,  # type: ignore[arg-type]
        book=book,
        ownership=ownership,
        pool=None,  # type: ignore[arg-type]  # nothing may be written
        outbox=None,  # type: ignore[arg-type]
        vacated=[],
        worker=_Here(planner),  # type: ignore[arg-type]
    )
    # the loop's task used to die here (StopIteration: no region held), taking dispatch down
    assert await positioning.plan(NOW) == 0


def test_units_of_platforms_far_from_the_citys_demand_are_not_the_planners() -> None:
    """Issue 20: one dispatch process reads a province's fleet; units at a prefecture seat
    70 km away reach none of this city's calls, so the planner neither posts nor counts them
    (20,000 of them cost it a third of a core and diluted its busy share)."""
    far = {"P1": at(0, 0), "P2": at(2500, 0), "FAR": at(70_000, 0)}
    model = demand()
    plan = PositionPlanner(
        posts=POSTS,
        demand=model,
        reach=Reach(ETA, model, patrol_radius_m=50.0, spread=SURE),
        platforms=far,
        projection=PROJECTION,
    )
    assert plan.serves("P1") and plan.serves("P2")
    assert not plan.serves("FAR")
    assert plan.serves("NOT-IN-THE-CITY-FILE")  # unknown: counted, as before


def test_the_planner_is_shown_only_the_units_it_serves() -> None:
    """What dispatch hands its planner each pass: a unit of a platform 70 km from the city's
    calls is left out (put back the filter in `Positioning.snapshot` and it is planned)."""
    model = demand()
    plan = PositionPlanner(
        posts=POSTS,
        demand=model,
        reach=Reach(ETA, model, patrol_radius_m=50.0, spread=SURE),
        platforms={"P1": at(0, 0), "P2": at(2500, 0), "FAR": at(70_000, 0)},
        projection=PROJECTION,
    )
    fleet = make_fleet()
    put(fleet, "NEAR", east(0), platform="P1")
    put(fleet, "AWAY", east(70_000), platform="FAR")
    book = Book(fleet)
    positioning = Positioning(
        planner=plan,
        book=book,
        ownership=Ownership(None, book, "test"),  # type: ignore[arg-type]
        pool=None,  # type: ignore[arg-type]  # nothing is written
        outbox=None,  # type: ignore[arg-type]
        vacated=[],
        worker=_Here(plan),  # type: ignore[arg-type]
    )
    assert [u.unit_id for u in positioning.snapshot(NOW)] == ["NEAR"]


def test_a_pass_gives_free_units_the_posts_best_post_gives_them_one_after_another() -> None:
    """The pass divides each unit's factor out of the fleet's coverage instead of computing it
    again per unit: the same posts as asking best_post for each in turn, the fleet moved."""
    rng = np.random.default_rng(7)
    kinds = [UnitKind.motorcycle, UnitKind.car, UnitKind.command_vehicle]
    names = [p.post_id for p in POSTS]
    fleet = [
        unit(
            f"U{n}",
            kind=kinds[n % 3],
            platform="P1" if n % 2 else "P2",
            post=None if n % 3 == 0 else names[int(rng.integers(len(names)))],
            where=(float(rng.uniform(-3000, 3000)), float(rng.uniform(-3000, 3000))),
            available=bool(rng.uniform() > 0.2),
        )
        for n in range(60)
    ]
    plan = planner()
    moves = plan.running_pass(fleet, hour=HOUR, busy_fraction=0.2, free_limit=12)
    expected, units = [], list(fleet)
    lonely = [u.unit_id for u in fleet if u.available and u.post_id is None][:12]
    for unit_id in lonely:
        move = plan.best_post(unit_id, units, hour=HOUR, busy_fraction=0.2)
        if move is None:
            continue
        expected.append(move)
        post = next(p for p in POSTS if p.post_id == move.post_id)
        units = [
            u._replace(lat=post.lat, lon=post.lon, post_id=post.post_id, settled=False)
            if u.unit_id == unit_id
            else u
            for u in units
        ]
    assert len(expected) >= 8
    assert [(m.unit_id, m.post_id) for m in moves] == [(m.unit_id, m.post_id) for m in expected]
    assert [m.gain for m in moves] == pytest.approx([m.gain for m in expected], rel=1e-4)
