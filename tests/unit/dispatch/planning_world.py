"""A small flat town for the positioning planner's tests: platform P1 at the origin, P2 2.5 km
east; a 6 km central zone holding two 300 m key locations, K1 1 km east and K2 1 km west; a
hand-picked set of posts. Travel is simple: 10 m/s on the road, the road straight, no traffic;
a motorcycle starts in 20 s (reaches 400 m in a minute), a car in 45 s (cannot make 60 s
beyond 150 m), a command vehicle in 50 s."""

import math

import numpy as np
from shapely.geometry import Polygon

from kj_dispatch.domain.demand import DemandModel, demand_cells, prior_by_zone
from kj_dispatch.domain.eta import EtaParams
from kj_dispatch.domain.positioning import PlannerLimits, PositionPlanner, UnitPosition
from kj_dispatch.domain.posts import Post
from kj_dispatch.domain.reach import Reach
from kj_schemas.city import Zone
from kj_schemas.enums import ResponseTier, UnitKind
from kj_schemas.geo import M_PER_DEG, LocalProjection

LAT0, LON0 = 27.24, 111.47
PROJECTION = LocalProjection(LAT0, LON0)
TARGETS = {
    ResponseTier.key_location: 60,
    ResponseTier.central_city: 180,
    ResponseTier.other_city: 300,
    ResponseTier.county: 600,
}
ETA = EtaParams(
    speed_kmh=dict.fromkeys(UnitKind, 36.0),
    startup_s={UnitKind.motorcycle: 20.0, UnitKind.car: 45.0, UnitKind.command_vehicle: 50.0},
    circuity=1.0,
    congestion_by_hour={},
    congestion_on_startup=False,
)
SURE = dict.fromkeys(UnitKind, 0.01)  # almost no spread: a cell is reached in time or not


def at(x: float, y: float) -> tuple[float, float]:
    """(lat, lon) of a point x metres east and y metres north of the origin."""
    return LAT0 + y / M_PER_DEG, LON0 + x / (M_PER_DEG * math.cos(math.radians(LAT0)))


def box(x: float, y: float, side: float) -> Polygon:
    corners = [(x - side / 2, y - side / 2), (x + side / 2, y - side / 2)]
    corners += [(x + side / 2, y + side / 2), (x - side / 2, y + side / 2)]
    return Polygon([(at(a, b)[1], at(a, b)[0]) for a, b in corners])


ZONES = [
    Zone(id="C", name="centre", tier=ResponseTier.central_city, geometry=box(0, 0, 6000)),
    Zone(id="K1", name="station", tier=ResponseTier.key_location, geometry=box(1000, 0, 300)),
    Zone(id="K2", name="school", tier=ResponseTier.key_location, geometry=box(-1000, 0, 300)),
]
PLATFORMS = {"P1": at(0, 0), "P2": at(2500, 0)}
POSTS = [
    Post("P1", *at(0, 0), platform_id="P1"),
    Post("P2", *at(2500, 0), platform_id="P2"),
    Post("K1-a", *at(1000, 0), key_location="K1", near_key_location="K1"),
    Post("K1-b", *at(1060, 60), key_location="K1", near_key_location="K1"),
    Post("K1-c", *at(940, -60), key_location="K1", near_key_location="K1"),
    Post("K1-ring", *at(1250, 0), near_key_location="K1"),
    Post("K2-a", *at(-1000, 0), key_location="K2", near_key_location="K2"),
    Post("NORTH", *at(0, 2000)),
    Post("SOUTH", *at(0, -2000)),
]


def demand(*, key_only: str | None = None, calls_per_day: float = 240.0) -> DemandModel:
    """The prior by zone; `key_only`: calls at that key location alone."""
    cells = prior_by_zone(demand_cells(ZONES, TARGETS, PROJECTION), calls_per_day=calls_per_day)
    if key_only is None:
        return cells
    keep = np.array([z == key_only for z in cells.zone_id])
    return DemandModel(
        cells.x, cells.y, cells.tier, cells.zone_id, cells.target_s, cells.rate * keep[:, None]
    )


def planner(
    limits: PlannerLimits | None = None, model: DemandModel | None = None
) -> PositionPlanner:
    model = model or demand()
    return PositionPlanner(
        posts=POSTS,
        demand=model,
        reach=Reach(ETA, model, patrol_radius_m=50.0, spread=SURE),
        platforms=PLATFORMS,
        projection=PROJECTION,
        limits=limits,
    )


def unit(
    unit_id: str,
    *,
    kind: UnitKind = UnitKind.motorcycle,
    platform: str = "P1",
    post: str | None = None,
    where: tuple[float, float] = (0.0, 0.0),
    available: bool = True,
    settled: bool = True,
    move_ups: int = 0,
) -> UnitPosition:
    if post is not None:
        found = next(p for p in POSTS if p.post_id == post)
        lat, lon = found.lat, found.lon
    else:
        lat, lon = at(*where)
    return UnitPosition(
        unit_id, kind, platform, lat, lon, available, post, settled and post is not None, move_ups
    )
