"""The 110 centre's side: a seeded stream of alarms with a daily profile, a category mix with
non-police calls, repeat callers for the same incident, and bursts (a crash with many callers,
a festival night)."""

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from shapely import Point
from shapely.prepared import prep

from kj_schemas.city import City
from kj_schemas.enums import AlarmCategory, ResponseTier

# relative alarm volume by local hour, 0-23: quiet before dawn, peaks in the evening
DAILY_PROFILE = np.array(
    [
        0.6,
        0.45,
        0.35,
        0.3,
        0.3,
        0.4,
        0.6,
        0.85,
        1.0,
        1.0,
        1.05,
        1.1,
        1.1,
        1.0,
        1.0,
        1.05,
        1.15,
        1.3,
        1.45,
        1.55,
        1.6,
        1.45,
        1.15,
        0.85,
    ]
)
DAILY_PROFILE = DAILY_PROFILE / DAILY_PROFILE.mean()

# category: (share, priority) — about one call in five is not police business (diverted to 12345)
CATEGORY_MIX: dict[AlarmCategory, tuple[float, int]] = {
    AlarmCategory.theft: (0.14, 3),
    AlarmCategory.dispute: (0.12, 3),
    AlarmCategory.traffic_accident: (0.12, 2),
    AlarmCategory.fight: (0.08, 2),
    AlarmCategory.help_request: (0.07, 3),
    AlarmCategory.suspicious: (0.05, 3),
    AlarmCategory.public_disorder: (0.04, 3),
    AlarmCategory.domestic_violence: (0.04, 2),
    AlarmCategory.robbery: (0.03, 1),
    AlarmCategory.violent_crime: (0.02, 1),
    AlarmCategory.missing_person: (0.02, 2),
    AlarmCategory.suicide_attempt: (0.01, 1),
    AlarmCategory.fire: (0.01, 1),
    AlarmCategory.other_police: (0.03, 4),
    AlarmCategory.noise: (0.09, 4),
    AlarmCategory.utilities: (0.05, 4),
    AlarmCategory.consumer_dispute: (0.04, 4),
    AlarmCategory.municipal: (0.02, 4),
    AlarmCategory.information: (0.02, 4),
}
# where incidents happen: weight per tier of zone (key locations draw far more per area)
TIER_WEIGHT = {
    ResponseTier.key_location: 0.25,
    ResponseTier.central_city: 0.5,
    ResponseTier.other_city: 0.25,
}
REPEAT_SHARE = 0.12  # incidents that get more than one caller


@dataclass(frozen=True)
class Burst:
    """A moment with many callers: a crash on a bridge, a crowd at a festival."""

    at_seconds: float
    callers: int
    category: AlarmCategory = AlarmCategory.traffic_accident
    spread_seconds: float = 120.0


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    body: dict[str, Any] = field(compare=False)


class AlarmStream:
    def __init__(
        self,
        city: City,
        *,
        seed: int,
        per_hour: float,
        start: datetime,
        source: str = "sy110",
        bursts: tuple[Burst, ...] = (),
        rate_multiplier: float = 1.0,
        repeat_share: float = REPEAT_SHARE,
        daily_profile: bool = True,
        id_prefix: str = "SIM",
    ) -> None:
        """`daily_profile=False`: the same rate at every hour (steady load for the chaos suite);
        `id_prefix` keeps two streams started in the same second apart."""
        self.daily_profile = daily_profile
        self.id_prefix = id_prefix
        self.rng = np.random.default_rng(seed)
        self.repeat_share = repeat_share
        self.per_hour = per_hour * rate_multiplier
        self.start = start
        self.source = source
        self._zones = {
            tier: [prep(z.geometry) for z in city.zones if z.tier is tier] for tier in TIER_WEIGHT
        }
        self._bounds = {
            tier: [z.geometry.bounds for z in city.zones if z.tier is tier] for tier in TIER_WEIGHT
        }
        categories = list(CATEGORY_MIX)
        shares = np.array([CATEGORY_MIX[c][0] for c in categories])
        self._categories = categories
        self._shares = shares / shares.sum()
        self._queue: list[_Pending] = []
        self._seq = 0
        self._next_at = self._draw_gap(0.0)
        for burst in bursts:
            self._schedule_burst(burst)

    def _rate_at(self, seconds: float) -> float:
        if not self.daily_profile:
            return self.per_hour / 3600.0
        hour = (self.start + timedelta(seconds=seconds)).hour
        return self.per_hour * float(DAILY_PROFILE[hour]) / 3600.0

    def _draw_gap(self, now: float) -> float:
        # thinning would be exact; the hour changes slowly next to the gaps, so this is close
        return now + float(self.rng.exponential(1.0 / max(self._rate_at(now), 1e-9)))

    def _point_in(self, tier: ResponseTier) -> tuple[float, float]:
        zones, bounds = self._zones[tier], self._bounds[tier]
        pick = int(self.rng.integers(len(zones)))
        minx, miny, maxx, maxy = bounds[pick]
        for _ in range(1000):
            lon, lat = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if zones[pick].contains(Point(lon, lat)):
                return round(float(lat), 6), round(float(lon), 6)
        raise RuntimeError(f"could not draw a point in a {tier} zone")

    def _location(self) -> tuple[float, float]:
        tiers = list(TIER_WEIGHT)
        tier = tiers[int(self.rng.choice(len(tiers), p=list(TIER_WEIGHT.values())))]
        return self._point_in(tier)

    def _body(self, at: float, category: AlarmCategory, lat: float, lon: float) -> dict[str, Any]:
        self._seq += 1
        phone = f"1{int(self.rng.integers(30, 99))}{int(self.rng.integers(0, 10**8)):08d}"
        return {
            "source": self.source,
            "source_alarm_id": f"{self.id_prefix}-{self.start:%Y%m%d-%H%M%S}-{self._seq:06d}",
            "reported_at": (self.start + timedelta(seconds=at)).isoformat(),
            "caller_phone": phone,
            "location": {"lat": lat, "lon": lon},
            "category": category.value,
            "priority": CATEGORY_MIX[category][1],
            "description": f"模拟警情 {category.value}",
        }

    def _push(self, at: float, body: dict[str, Any]) -> None:
        heapq.heappush(self._queue, _Pending(at, self._seq, body))

    def single(self, at: float, category: AlarmCategory) -> dict[str, Any]:
        """One call of `category` placed `at` seconds after the start, outside the stream."""
        lat, lon = self._location()
        return self._body(at, category, lat, lon)

    def _incident(self, at: float) -> None:
        category = self._categories[int(self.rng.choice(len(self._categories), p=self._shares))]
        lat, lon = self._location()
        self._push(at, self._body(at, category, lat, lon))
        if self.rng.uniform() < self.repeat_share:
            for _ in range(int(self.rng.integers(1, 4))):
                later = at + float(self.rng.uniform(20, 150))
                jitter = self.rng.normal(0, 0.0003, 2)  # ~30 m
                self._push(
                    later,
                    self._body(later, category, lat + float(jitter[0]), lon + float(jitter[1])),
                )

    def _schedule_burst(self, burst: Burst) -> None:
        lat, lon = self._point_in(ResponseTier.central_city)
        for _ in range(burst.callers):
            at = burst.at_seconds + float(self.rng.uniform(0, burst.spread_seconds))
            jitter = self.rng.normal(0, 0.0002, 2)
            self._push(
                at, self._body(at, burst.category, lat + float(jitter[0]), lon + float(jitter[1]))
            )

    def next_due(self) -> float:
        """When the next call is placed, in seconds after the start (it is the first that
        `due` returns once that time is reached)."""
        head = self._queue[0].due if self._queue else float("inf")
        return min(head, self._next_at)

    def due(self, now: float) -> list[dict[str, Any]]:
        """Every call placed up to `now` seconds after the start, in order."""
        while self._next_at <= now:
            self._incident(self._next_at)
            self._next_at = self._draw_gap(self._next_at)
        ready: list[dict[str, Any]] = []
        while self._queue and self._queue[0].due <= now:
            ready.append(heapq.heappop(self._queue).body)
        return ready
