"""The study's world: days of incidents over the sample city and the units that answer them.
What really happens (acceptance, turnout, the drive in the hour's traffic) is drawn here, apart
from what a policy predicts, so a policy is judged by outcomes, not by its own estimates.

Common random numbers: every draw that decides an outcome belongs to an incident and to the
how-manyth unit sent to it, never to the order in which a policy happens to ask, so two
policies on the same day meet the same luck and their difference is the policies'."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import numpy as np
from shapely import STRtree, points

from kj_alarm.domain.duplicates import MergeRule, OpenAlarm, merge_target
from kj_schemas.city import City
from kj_schemas.enums import NON_POLICE_CATEGORIES, AlarmCategory, ResponseTier, UnitKind
from kj_sim.alarms import REPEAT_SHARE, AlarmStream, Burst
from kj_sim.projection import LocalProjection

CHINA = timezone(timedelta(hours=8))
DAY_START = datetime(2026, 11, 23, 0, 0, tzinfo=CHINA)

# what the road really does, per kind: mean speed (m/s) and turnout (accepted → moving, s)
TRUE_SPEED = {UnitKind.motorcycle: 9.5, UnitKind.car: 8.5, UnitKind.command_vehicle: 7.0}
TRUE_TURNOUT = {UnitKind.motorcycle: 15.0, UnitKind.car: 25.0, UnitKind.command_vehicle: 35.0}
ACCEPT_MIN_S, ACCEPT_MEAN_S = 5.0, 12.0  # the officer reads and accepts the work order
# rush hours slow cars (drive time × factor); a motorcycle filters through and feels a share
TRUE_CONGESTION = {7: 1.3, 8: 1.5, 9: 1.2, 12: 1.15, 17: 1.45, 18: 1.5, 19: 1.2}
MOTORCYCLE_CONGESTION_SHARE = 0.4
PATROL_RADIUS_M = 1_200.0  # today: an idle unit waits at a random point this near its base
RECEIPT_DELAY_S = 30.0  # citizen's call → the platform receives the 110 instruction (mean)
BURSTS_PER_DAY = 2  # a crash with many callers, a crowd: repeat callers merged by intake
REPOSITION_SPEED_SHARE = 0.85  # a unit going to a post drives without lights


@dataclass(frozen=True)
class Incident:
    index: int
    at: float  # the platform receives it, seconds after midnight: the 1/3/5 clock starts
    x: float
    y: float
    lat: float
    lon: float
    category: AlarmCategory
    priority: int
    tier: str
    target: int
    on_scene_s: float
    called_at: float = 0.0  # the citizen's first call (the citizen's clock)
    callers: int = 1  # calls merged into it by alarm intake's rule


@dataclass(frozen=True)
class Fleet:
    unit_ids: list[str]
    kinds: list[UnitKind]
    platform: np.ndarray  # index of each unit's platform
    base_x: np.ndarray
    base_y: np.ndarray
    platform_ids: list[str]


@dataclass(frozen=True)
class Trip:
    accept_s: float
    turnout_s: float
    drive_s: float
    path_m: float

    @property
    def total_s(self) -> float:
        return self.accept_s + self.turnout_s + self.drive_s


def congestion(kind: UnitKind, seconds: float) -> float:
    """The true traffic factor on the drive at `seconds` after midnight."""
    factor = TRUE_CONGESTION.get(int(seconds // 3600) % 24, 1.0)
    if kind is UnitKind.motorcycle:
        return 1.0 + (factor - 1.0) * MOTORCYCLE_CONGESTION_SHARE
    return factor


class Truth:
    """The day's luck: uniforms per (incident, k-th unit sent) and a stream for repositions."""

    UNITS_PER_INCIDENT = 8  # draws kept per incident; more units than this reuse them

    def __init__(self, seed: int, incidents: int) -> None:
        rng = np.random.default_rng([seed, 11])
        self._draws = rng.random((max(incidents, 1), self.UNITS_PER_INCIDENT, 4))
        self._repositions = np.random.default_rng([seed, 12])

    def response(
        self, incident: int, k: int, kind: UnitKind, distance_m: float, now: float, moving: bool
    ) -> Trip:
        u_accept, u_turnout, u_circuity, u_speed = self._draws[
            incident, k % self.UNITS_PER_INCIDENT
        ]
        accept = ACCEPT_MIN_S - (ACCEPT_MEAN_S - ACCEPT_MIN_S) * math.log1p(-u_accept)
        turnout = 0.0 if moving else TRUE_TURNOUT[kind] * (0.7 + 0.6 * u_turnout)
        circuity = 1.15 + 0.4 * u_circuity
        speed = TRUE_SPEED[kind] * (0.8 + 0.35 * u_speed)
        path = distance_m * circuity
        drive = path / speed * congestion(kind, now)
        return Trip(accept, turnout, drive, path)

    def reposition(self, kind: UnitKind, distance_m: float, now: float) -> tuple[float, float]:
        """(seconds, road metres) of a trip to a post or back to patrol."""
        circuity = 1.15 + 0.4 * float(self._repositions.random())
        speed = TRUE_SPEED[kind] * REPOSITION_SPEED_SHARE
        path = distance_m * circuity
        return path / speed * congestion(kind, now), path


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
    city: City,
    projection: LocalProjection,
    *,
    seed: int,
    per_day: float,
    load: float,
    receipt_delay_s: float = RECEIPT_DELAY_S,
    repeat_callers: bool = True,
    bursts: int = BURSTS_PER_DAY,
) -> list[Incident]:
    """A day of police incidents: the 110 centre's calls (repeat callers and bursts
    included), non-police calls diverted, repeats merged by alarm intake's own rule, each
    received by the platform after the 110 centre's handling (`receipt_delay_s` on average)."""
    rng = np.random.default_rng([seed, 1])
    stream = AlarmStream(
        city,
        seed=seed,
        per_hour=per_day / 24.0,
        start=DAY_START,
        rate_multiplier=load,
        repeat_share=REPEAT_SHARE if repeat_callers else 0.0,
        bursts=tuple(
            Burst(float(rng.uniform(8, 22) * 3600), int(rng.integers(10, 31)))
            for _ in range(bursts)
        ),
    )
    calls = [
        c
        for c in stream.due(24 * 3600.0)
        if AlarmCategory(c["category"]) not in NON_POLICE_CATEGORIES
    ]
    firsts, callers = _merge_repeats(calls)
    kept = [calls[i] for i in firsts]
    lat = np.array([c["location"]["lat"] for c in kept])
    lon = np.array([c["location"]["lon"] for c in kept])
    x, y = projection.to_xy(lat, lon)
    tiers, targets = classify_tiers(city, lat, lon)
    stays = rng.gamma(3.0, 300.0, len(kept))
    delays = rng.gamma(4.0, receipt_delay_s / 4.0, len(kept)) if receipt_delay_s > 0 else None
    incidents = []
    for i, call in enumerate(kept):
        called = (datetime.fromisoformat(call["reported_at"]) - DAY_START).total_seconds()
        incidents.append(
            Incident(
                i,
                called + (float(delays[i]) if delays is not None else 0.0),
                float(x[i]),
                float(y[i]),
                float(lat[i]),
                float(lon[i]),
                AlarmCategory(call["category"]),
                int(call["priority"]),
                tiers[i],
                targets[i],
                float(stays[i]),
                called,
                callers[i],
            )
        )
    return incidents


def _merge_repeats(calls: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """Which calls open an incident, and how many calls each incident gets, by intake's rule
    (an incident is taken as open through the rule's window: repeat callers ring within
    minutes, long before it is closed)."""
    rule = MergeRule()
    firsts: list[int] = []
    callers: list[int] = []
    open_alarms: list[tuple[OpenAlarm, int]] = []
    for i, call in enumerate(calls):
        at = datetime.fromisoformat(call["reported_at"])
        open_alarms = [
            (a, n) for a, n in open_alarms if (at - a.reported_at).total_seconds() <= rule.window_s
        ]
        category = AlarmCategory(call["category"])
        lat, lon = call["location"]["lat"], call["location"]["lon"]
        target = merge_target(
            lat=lat,
            lon=lon,
            reported_at=at,
            category=category,
            open_alarms=[a for a, _ in open_alarms],
            rule=rule,
        )
        if target is None:
            open_alarms.append((OpenAlarm(_uuid(len(firsts)), lat, lon, at, category), len(firsts)))
            firsts.append(i)
            callers.append(1)
        else:
            callers[next(n for a, n in open_alarms if a is target)] += 1
    return firsts, callers


def _uuid(n: int) -> UUID:
    return UUID(int=n + 1)


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
