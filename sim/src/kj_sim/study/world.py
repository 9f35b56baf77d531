"""The study's world: a day of incidents over the sample city and the units that answer them.
What really happens (travel times) is drawn here, apart from what a policy predicts, so a
policy is judged by outcomes, not by its own estimates."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
from shapely import STRtree, points

from kj_schemas.city import City
from kj_schemas.enums import NON_POLICE_CATEGORIES, AlarmCategory, ResponseTier, UnitKind
from kj_sim.alarms import AlarmStream
from kj_sim.projection import LocalProjection

CHINA = timezone(timedelta(hours=8))
DAY_START = datetime(2026, 11, 23, 0, 0, tzinfo=CHINA)

# what the road really does, per kind: mean speed (m/s) and start-up delay (s)
TRUE_SPEED = {UnitKind.motorcycle: 9.5, UnitKind.car: 8.5, UnitKind.command_vehicle: 7.0}
TRUE_STARTUP = {UnitKind.motorcycle: 15.0, UnitKind.car: 25.0, UnitKind.command_vehicle: 35.0}
ACCEPT_DELAY_S = 12.0  # the officer reads and accepts the work order
PATROL_RADIUS_M = 1_200.0


@dataclass(frozen=True)
class Incident:
    index: int
    at: float  # seconds after midnight
    x: float
    y: float
    lat: float
    lon: float
    category: AlarmCategory
    priority: int
    tier: str
    target: int
    on_scene_s: float


@dataclass(frozen=True)
class Fleet:
    unit_ids: list[str]
    kinds: list[UnitKind]
    platform: np.ndarray  # index of each unit's platform
    base_x: np.ndarray
    base_y: np.ndarray
    platform_ids: list[str]


def study_projection(city: City) -> LocalProjection:
    """Local metres around the mean of the city's platforms, shared by the world and policies."""
    lat0 = float(np.mean([p.lat for p in city.platforms]))
    lon0 = float(np.mean([p.lon for p in city.platforms]))
    return LocalProjection(lat0, lon0)


def classify_tiers(city: City, lat: np.ndarray, lon: np.ndarray) -> tuple[list[str], list[int]]:
    """The smallest target among the zones holding each point; the county target outside."""
    tree = STRtree([zone.geometry for zone in city.zones])
    where = points(lon, lat)
    best = [("county", city.targets[ResponseTier.county])] * len(lat)
    hits = tree.query(where, predicate="within")
    for point_index, zone_index in zip(hits[0], hits[1], strict=True):
        zone = city.zones[int(zone_index)]
        target = city.targets[zone.tier]
        if target < best[point_index][1]:
            best[point_index] = (str(zone.tier), target)
    return [tier for tier, _ in best], [target for _, target in best]


def day_of_incidents(
    city: City, projection: LocalProjection, *, seed: int, per_day: float, load: float
) -> list[Incident]:
    stream = AlarmStream(
        city,
        seed=seed,
        per_hour=per_day / 24.0,
        start=DAY_START,
        rate_multiplier=load,
        repeat_share=0.0,
    )
    calls = [
        c
        for c in stream.due(24 * 3600.0)
        if AlarmCategory(c["category"]) not in NON_POLICE_CATEGORIES
    ]
    lat = np.array([c["location"]["lat"] for c in calls])
    lon = np.array([c["location"]["lon"] for c in calls])
    x, y = projection.to_xy(lat, lon)
    tiers, targets = classify_tiers(city, lat, lon)
    rng = np.random.default_rng(seed + 1)
    stays = rng.gamma(3.0, 300.0, len(calls))
    incidents = []
    for i, call in enumerate(calls):
        at = (datetime.fromisoformat(call["reported_at"]) - DAY_START).total_seconds()
        incidents.append(
            Incident(
                i,
                at,
                float(x[i]),
                float(y[i]),
                float(lat[i]),
                float(lon[i]),
                AlarmCategory(call["category"]),
                int(call["priority"]),
                tiers[i],
                targets[i],
                float(stays[i]),
            )
        )
    return incidents


def fleet_of(city: City, projection: LocalProjection) -> Fleet:
    platform_ids = [p.id for p in city.platforms]
    index = {pid: i for i, pid in enumerate(platform_ids)}
    lat = np.array([city.platform_by_id[u.platform].lat for u in city.units])
    lon = np.array([city.platform_by_id[u.platform].lon for u in city.units])
    x, y = projection.to_xy(lat, lon)
    return Fleet(
        unit_ids=[u.id for u in city.units],
        kinds=[u.kind for u in city.units],
        platform=np.array([index[u.platform] for u in city.units]),
        base_x=x,
        base_y=y,
        platform_ids=platform_ids,
    )


class Roads:
    """The true travel time: straight line times a circuity drawn per trip, at the kind's
    speed with noise, after its start-up delay."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def travel_s(self, kind: UnitKind, distance_m: float) -> float:
        circuity = self.rng.uniform(1.15, 1.55)
        speed = TRUE_SPEED[kind] * self.rng.uniform(0.8, 1.15)
        return TRUE_STARTUP[kind] + ACCEPT_DELAY_S + distance_m * circuity / speed
