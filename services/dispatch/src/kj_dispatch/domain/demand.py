"""Call rates per place and hour: a grid of demand cells over the city's response zones, each
with its tier, its target and the calls it expects in each hour of the day.

A new city starts from a prior by zone (calls a day, spread by an assumed density per tier and
a flat day); history refines it. History is plain call records (where, which tier, which
hour), so the SQL that reads the alarm table stays outside the domain. Rates are learned as a
daily rate per cell times one hourly profile for the city (separable): a week of history is a
few thousand calls, too few for a rate per cell and hour, enough for each factor apart.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely
from scipy.spatial import cKDTree

from kj_schemas.city import Zone
from kj_schemas.enums import ResponseTier
from kj_schemas.geo import M_PER_DEG, LocalProjection

HOURS = 24
# grid spacing per tier: fine where the target is short (a 60 s reach is ~200 m)
DEFAULT_SPACING_M: Mapping[ResponseTier, float] = {
    ResponseTier.key_location: 75.0,
    ResponseTier.central_city: 300.0,
    ResponseTier.other_city: 600.0,
    ResponseTier.county: 1200.0,
}
# a new city's assumption of calls per km², relative: crowds at key places, fewer outside
DEFAULT_TIER_DENSITY: Mapping[ResponseTier, float] = {
    ResponseTier.key_location: 40.0,
    ResponseTier.central_city: 4.0,
    ResponseTier.other_city: 1.0,
    ResponseTier.county: 0.1,
}


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One past incident, as the alarm history gives it."""

    lat: float
    lon: float
    tier: ResponseTier
    hour: int  # local hour of day, 0-23


@dataclass(frozen=True)
class DemandModel:
    """Demand cells in local metres, with calls per hour for each hour of the day."""

    x: np.ndarray
    y: np.ndarray
    tier: tuple[ResponseTier, ...]
    zone_id: tuple[str, ...]
    target_s: np.ndarray
    rate: np.ndarray  # (cells, 24) expected calls per hour

    def __len__(self) -> int:
        return len(self.x)

    def at_hour(self, hour: int) -> np.ndarray:
        return self.rate[:, hour % HOURS]

    def calls_per_day(self) -> float:
        return float(self.rate.sum())

    def in_tier(self, tier: ResponseTier) -> np.ndarray:
        return np.array([t is tier for t in self.tier], dtype=bool)


def demand_cells(
    zones: Sequence[Zone],
    targets: Mapping[ResponseTier, int],
    projection: LocalProjection,
    *,
    spacing_m: Mapping[ResponseTier, float] = DEFAULT_SPACING_M,
) -> DemandModel:
    """Grid points over every zone at its tier's spacing. A point belongs to the zone with the
    smallest target that holds it (as alarm intake classifies), so a key location's area is
    counted once, by its own fine grid. Rates are zero: give them with `prior_by_zone`."""
    xs: list[float] = []
    ys: list[float] = []
    tiers: list[ResponseTier] = []
    zone_ids: list[str] = []
    goals: list[float] = []
    for zone in zones:
        lon, lat = _grid(zone, spacing_m[zone.tier], projection.lat0)
        if not len(lon):
            continue
        keep = np.ones(len(lon), dtype=bool)
        for other in zones:  # a zone with a shorter target owns its area
            if targets[other.tier] < targets[zone.tier]:
                keep &= ~shapely.contains_xy(other.geometry, lon, lat)
        for a, b in zip(lat[keep], lon[keep], strict=True):
            px, py = projection.xy(float(a), float(b))
            xs.append(px)
            ys.append(py)
            tiers.append(zone.tier)
            zone_ids.append(zone.id)
            goals.append(float(targets[zone.tier]))
    n = len(xs)
    return DemandModel(
        np.array(xs),
        np.array(ys),
        tuple(tiers),
        tuple(zone_ids),
        np.array(goals),
        np.zeros((n, HOURS)),
    )


def _grid(zone: Zone, spacing: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Points inside the zone on a grid of `spacing` metres, centred in its bounds; a zone
    smaller than one spacing gets its representative point."""
    minx, miny, maxx, maxy = zone.geometry.bounds
    dlat = spacing / M_PER_DEG
    dlon = spacing / (M_PER_DEG * np.cos(np.radians(lat0)))
    nx = max(int((maxx - minx) / dlon), 0)
    ny = max(int((maxy - miny) / dlat), 0)
    lons = minx + ((maxx - minx) - nx * dlon) / 2 + dlon * np.arange(nx + 1)
    lats = miny + ((maxy - miny) - ny * dlat) / 2 + dlat * np.arange(ny + 1)
    grid_lon, grid_lat = (a.ravel() for a in np.meshgrid(lons, lats))
    inside = shapely.contains_xy(zone.geometry, grid_lon, grid_lat)
    if not inside.any():
        point = zone.geometry.representative_point()
        return np.array([point.x]), np.array([point.y])
    return grid_lon[inside], grid_lat[inside]


def prior_by_zone(
    cells: DemandModel,
    *,
    calls_per_day: float,
    spacing_m: Mapping[ResponseTier, float] = DEFAULT_SPACING_M,
    tier_density: Mapping[ResponseTier, float] = DEFAULT_TIER_DENSITY,
) -> DemandModel:
    """A new city's rates: `calls_per_day` spread over the cells by the assumed density of its
    tier times the area each cell stands for, the same in every hour."""
    area = np.array([spacing_m[t] ** 2 for t in cells.tier])
    density = np.array([tier_density[t] for t in cells.tier])
    weight = area * density
    total = weight.sum()
    daily = calls_per_day * weight / total if total > 0 else weight
    return replace(cells, rate=np.repeat(daily[:, None] / HOURS, HOURS, axis=1))


def learn_rates(
    prior: DemandModel,
    records: Iterable[CallRecord],
    *,
    days: float,
    prior_days: float = 2.0,
    projection: LocalProjection,
) -> DemandModel:
    """Rates from `days` of history, the prior counting as `prior_days` more (a gamma-Poisson
    mean): each cell's daily rate from the calls nearest to it within their own tier, and one
    hourly profile for the city. `days` must be positive."""
    if days <= 0:
        raise ValueError("learn_rates needs at least part of a day of history")
    counts = np.zeros(len(prior))
    by_hour = np.zeros(HOURS)
    trees = _trees_by_tier(prior)
    located: dict[ResponseTier | None, list[tuple[float, float]]] = {}
    for record in records:
        key = record.tier if record.tier in trees else None
        located.setdefault(key, []).append(projection.xy(record.lat, record.lon))
        by_hour[record.hour % HOURS] += 1
    for tier, points in located.items():
        tree, index = trees[tier]
        _, nearest = tree.query(np.array(points))
        np.add.at(counts, index[np.atleast_1d(nearest)], 1)
    prior_daily = prior.rate.sum(axis=1)
    daily = (counts + prior_days * prior_daily) / (days + prior_days)
    prior_profile = prior.rate.sum(axis=0) / max(prior.rate.sum(), 1e-12)
    total = by_hour.sum()
    pseudo = prior_days * prior_daily.sum()
    profile = (by_hour + pseudo * prior_profile) / max(total + pseudo, 1e-12)
    return replace(prior, rate=daily[:, None] * profile[None, :])


def _trees_by_tier(
    model: DemandModel,
) -> dict[ResponseTier | None, tuple[cKDTree, np.ndarray]]:
    points = np.column_stack([model.x, model.y])
    trees: dict[ResponseTier | None, tuple[cKDTree, np.ndarray]] = {
        None: (cKDTree(points), np.arange(len(model)))
    }
    for tier in set(model.tier):
        index = np.flatnonzero(model.in_tier(tier))
        trees[tier] = (cKDTree(points[index]), index)
    return trees
