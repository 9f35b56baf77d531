"""The positioning planner in the study: the dispatch domain's `PositionPlanner`, asked the way a
service would ask it (a plain fleet snapshot in, unit → post moves out), its answers obeyed by
the simulated units: the shift's plan at the start of the day, a post for each unit the moment
it is free, and (when on) move-ups after a dispatch."""

from dataclasses import dataclass

import numpy as np

from kj_dispatch.domain.positioning import MoveUpRule, PlannerLimits, PositionPlanner, UnitPosition
from kj_dispatch.domain.posts import candidate_posts
from kj_dispatch.domain.reach import Reach
from kj_schemas.city import City
from kj_sim.study.des import Simulation
from kj_sim.study.history import Learned, dispatch_projection
from kj_sim.study.world import study_projection

PATROL_RADIUS_M = 100.0  # posts are patrolled, not parked, within this radius


def build_planner(
    city: City,
    learned: Learned,
    *,
    limits: PlannerLimits | None = None,
    reach: Reach | None = None,
) -> PositionPlanner:
    """Once per set of learned rates; planners with other limits share a `reach` (the posts'
    reach is cached inside it)."""
    reach = reach or Reach(
        learned.eta.params,
        learned.demand,
        patrol_radius_m=PATROL_RADIUS_M,
        spread=learned.eta.spread,
    )
    return PositionPlanner(
        posts=candidate_posts(
            zones=city.zones, platforms=city.platforms, checkpoints=city.checkpoints
        ),
        demand=learned.demand,
        reach=reach,
        platforms={p.id: (p.lat, p.lon) for p in city.platforms},
        projection=dispatch_projection(city),
        limits=limits,
    )


@dataclass
class PlannedPositioning:
    """`Positioning` for the simulation, by the planner."""

    city: City
    planner: PositionPlanner
    learned: Learned
    move_up_rule: MoveUpRule | None = None  # None: no move-ups, only posts for freed units

    def __post_init__(self) -> None:
        self.projection = study_projection(self.city)
        lat = np.array([p.lat for p in self.planner.posts])
        lon = np.array([p.lon for p in self.planner.posts])
        self.posts_x, self.posts_y = self.projection.to_xy(lat, lon)
        self.patrol_radius_m = PATROL_RADIUS_M
        self.post_ids = [p.post_id for p in self.planner.posts]
        self.post_index = self.planner.index
        self.unit_of = {u.id: i for i, u in enumerate(self.city.units)}
        self.platform_of = [u.platform for u in self.city.units]

    def _q(self, now: float) -> tuple[int, float]:
        hour = int(now // 3600) % 24
        return hour, float(self.learned.busy_by_hour[hour])

    def _snapshot(self, sim: Simulation, now: float) -> list[UnitPosition]:
        x, y = sim.positions(now)
        lat, lon = self.projection.to_latlon(x, y)
        post_ids = self.post_ids
        posts = [post_ids[p] if p >= 0 else None for p in sim.post.tolist()]
        recent = sim.move_ups_since(now - 3600).tolist()
        return list(
            map(
                UnitPosition._make,
                zip(
                    sim.fleet.unit_ids,
                    sim.fleet.kinds,
                    self.platform_of,
                    lat.tolist(),
                    lon.tolist(),
                    (sim.state == 0).tolist(),
                    posts,
                    sim.settled(now).tolist(),
                    recent,
                    strict=True,
                ),
            )
        )

    def start(self, sim: Simulation) -> list[tuple[int, int]]:
        fleet = sim.fleet
        lat, lon = self.projection.to_latlon(fleet.base_x, fleet.base_y)
        at_bases = [
            UnitPosition(
                unit_id,
                fleet.kinds[i],
                fleet.platform_ids[int(fleet.platform[i])],
                float(lat[i]),
                float(lon[i]),
            )
            for i, unit_id in enumerate(fleet.unit_ids)
        ]
        hour, q = self._q(0.0)
        plan = self.planner.shift_plan(at_bases, hour=hour, busy_fraction=q)
        return [(self.unit_of[m.unit_id], self.post_index[m.post_id]) for m in plan]

    def freed(self, sim: Simulation, now: float, unit: int) -> int | None:
        hour, q = self._q(now)
        move = self.planner.best_post(
            sim.fleet.unit_ids[unit], self._snapshot(sim, now), hour=hour, busy_fraction=q
        )
        return self.post_index[move.post_id] if move is not None else None

    def dispatched(
        self, sim: Simulation, now: float, sent: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        if self.move_up_rule is None:
            return []
        hour, q = self._q(now)
        fleet = sim.fleet
        vacated = [
            UnitPosition(
                fleet.unit_ids[unit],
                fleet.kinds[unit],
                self.platform_of[unit],
                0.0,
                0.0,
                False,
                self.post_ids[post],
            )
            for unit, post in sent
            if post >= 0
        ]
        if not vacated:
            return []
        moves = self.planner.move_ups(
            self._snapshot(sim, now),
            hour=hour,
            busy_fraction=q,
            rule=self.move_up_rule,
            vacated=vacated,
        )
        return [(self.unit_of[m.unit_id], self.post_index[m.post_id]) for m in moves]

    def coverage_cost(self, sim: Simulation, now: float) -> np.ndarray:
        """Expected on-target calls lost while each unit is away (loss per hour × time away)."""
        hour, q = self._q(now)
        coverage = self.planner.coverage(self._snapshot(sim, now), hour=hour, busy_fraction=q)
        away_h = self.learned.away_s / 3600.0
        cost = np.zeros(sim.n)
        for unit_id, loss in coverage.loss_by_unit.items():
            cost[self.unit_of[unit_id]] = loss * away_h
        return cost
