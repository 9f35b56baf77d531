"""Travel time from a unit's last fix to a scene. `EtaModel` is the interface the policy uses;
`StraightLineEta` is today's model. A road-network router (a networkx graph loaded from a
GeoJSON road file, say) implements the same protocol later without touching the policy: its
`estimates_of` may simply loop over `estimate`."""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from math import asin, cos, pi, sin, sqrt
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, Field

from kj_dispatch.domain.model import FleetUnit
from kj_schemas.enums import UnitKind
from kj_schemas.geo import EARTH_RADIUS_M


class EtaParams(BaseModel):
    """Every figure of the straight-line model; the service reads them from its settings."""

    speed_kmh: dict[UnitKind, float] = Field(
        default_factory=lambda: {
            UnitKind.motorcycle: 40.0,
            UnitKind.car: 45.0,
            UnitKind.command_vehicle: 40.0,
        }
    )
    startup_s: dict[UnitKind, float] = Field(
        default_factory=lambda: {
            UnitKind.motorcycle: 10.0,
            UnitKind.car: 20.0,
            UnitKind.command_vehicle: 30.0,
        }
    )
    circuity: float = Field(default=1.3, ge=1.0)  # road distance / straight-line distance
    # per kind where measured (a motorcycle cuts through where a car goes round); else circuity
    circuity_by_kind: dict[UnitKind, float] = Field(default_factory=dict)
    # travel-time multiplier by local hour (0-23); hours not listed are 1.0
    congestion_by_hour: dict[int, float] = Field(
        default_factory=lambda: {7: 1.4, 8: 1.5, 12: 1.2, 17: 1.5, 18: 1.4}
    )
    # True: the factor slows the start-up too (the first model); a calibrated model slows only
    # the drive, which is what traffic does
    congestion_on_startup: bool = True
    timezone: str = "Asia/Shanghai"
    stale_after_s: float = Field(default=60.0, gt=0)  # older fixes are widened...
    drop_after_s: float = Field(default=300.0, gt=0)  # ...and older still are not used at all
    stale_widen_factor: float = Field(default=0.5, ge=0)  # seconds added per second of fix age

    def circuity_of(self, kind: UnitKind) -> float:
        return self.circuity_by_kind.get(kind, self.circuity)

    def seconds(self, kind: UnitKind, metres: np.ndarray, factor: float) -> np.ndarray:
        """Travel seconds over straight-line `metres` for a fresh fix, under congestion
        `factor`: the model's arithmetic for callers that work in metres (the planner)."""
        drive = metres * self.circuity_of(kind) / (self.speed_kmh[kind] / 3.6)
        startup = self.startup_s[kind]
        if self.congestion_on_startup:
            return (drive + startup) * factor
        return drive * factor + startup

    def factor_at_hour(self, hour: int) -> float:
        return self.congestion_by_hour.get(hour % 24, 1.0)


@dataclass(frozen=True, slots=True)
class Eta:
    seconds: float
    stale: bool  # the fix was old: the estimate was widened


@dataclass(frozen=True, slots=True)
class Etas:
    """Estimates for many units to one scene, in the units' order."""

    seconds: np.ndarray  # float; inf where the fix is too old to use
    stale: np.ndarray  # bool; the estimate was widened for an old fix


# a unit's kind as a small integer, for arrays of many units (the coverage survey's fleet)
KINDS: tuple[UnitKind, ...] = tuple(UnitKind)
KIND_CODE: dict[UnitKind, int] = {kind: code for code, kind in enumerate(KINDS)}


class EtaModel(Protocol):
    def estimate(self, unit: FleetUnit, lat: float, lon: float, now: datetime) -> Eta | None:
        """Seconds from the unit's last fix to (lat, lon); None when the fix is too old to use."""
        ...

    def estimates_of(
        self,
        lats: np.ndarray,
        lons: np.ndarray,
        kinds: np.ndarray,
        fix_ts: np.ndarray,
        place_lat: np.ndarray | float,
        place_lon: np.ndarray | float,
        now: datetime,
    ) -> Etas:
        """`estimate` for units given as arrays (degrees, `KIND_CODE`s, fix epoch seconds) to
        places that broadcast against them: one place, or a column of places against a matrix
        of units (row k: the units for place k)."""
        ...


_RAD = pi / 180


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class StraightLineEta:
    """haversine × circuity(kind) ÷ speed(kind) + start-up(kind), × congestion(local hour)
    (on the drive alone when the params say so);
    a fix older than `stale_after_s` adds `stale_widen_factor` × its age, older than
    `drop_after_s` gives no estimate."""

    def __init__(self, params: EtaParams | None = None) -> None:
        self.params = params or EtaParams()
        p = self.params
        self._mps = {kind: p.speed_kmh[kind] / 3.6 for kind in UnitKind}
        self._startup = {kind: p.startup_s[kind] for kind in UnitKind}
        self._zone = _zone(p.timezone)
        self._hour_cache: tuple[int, float] = (-1, 1.0)
        self._now: datetime | None = None  # the last `now` seen, with its epoch and factor
        self._now_ts = 0.0
        self._factor = 1.0
        self._diameter_circuity = {
            kind: 2 * EARTH_RADIUS_M * p.circuity_of(kind) for kind in UnitKind
        }
        self._on_startup = p.congestion_on_startup
        self._by_code = (  # metres per second, start-up seconds, 2R x circuity; by KIND_CODE
            np.array([self._mps[kind] for kind in KINDS]),
            np.array([self._startup[kind] for kind in KINDS]),
            np.array([self._diameter_circuity[kind] for kind in KINDS]),
        )

    def congestion(self, now: datetime) -> float:
        key = int(now.timestamp()) // 3600
        if self._hour_cache[0] != key:
            hour = now.astimezone(self._zone).hour
            self._hour_cache = (key, self.params.congestion_by_hour.get(hour, 1.0))
        return self._hour_cache[1]

    def _at(self, now: datetime) -> None:
        if now is not self._now:  # one query asks about many units at the same instant
            self._now, self._now_ts, self._factor = now, now.timestamp(), self.congestion(now)

    def estimate(self, unit: FleetUnit, lat: float, lon: float, now: datetime) -> Eta | None:
        # called for every candidate of every alarm: haversine inlined, no attribute chains
        if now is not self._now:
            self._at(now)
        p = self.params
        age = self._now_ts - unit.fix_ts
        if age > p.drop_after_s:
            return None
        p1, p2 = unit.lat * _RAD, lat * _RAD
        a = sin((p2 - p1) * 0.5) ** 2 + cos(p1) * cos(p2) * sin((lon - unit.lon) * _RAD * 0.5) ** 2
        kind = unit.kind
        metres = self._diameter_circuity[kind] * asin(min(1.0, sqrt(a)))
        if self._on_startup:
            seconds = (metres / self._mps[kind] + self._startup[kind]) * self._factor
        else:
            seconds = metres / self._mps[kind] * self._factor + self._startup[kind]
        if age > p.stale_after_s:
            return Eta(seconds + p.stale_widen_factor * age, True)
        return Eta(seconds, False)

    def estimates_of(
        self,
        lats: np.ndarray,
        lons: np.ndarray,
        kinds: np.ndarray,
        fix_ts: np.ndarray,
        place_lat: np.ndarray | float,
        place_lon: np.ndarray | float,
        now: datetime,
    ) -> Etas:
        """`estimate`'s arithmetic on arrays of units (see `EtaModel.estimates_of`); inf where
        the fix is too old to use."""
        p = self.params
        self._at(now)
        mps, startup, diameter = (column[kinds] for column in self._by_code)
        age = self._now_ts - fix_ts
        la, p2 = np.radians(lats), np.radians(place_lat)
        a = (
            np.sin((p2 - la) / 2) ** 2
            + np.cos(la) * np.cos(p2) * np.sin(np.radians(place_lon - lons) / 2) ** 2
        )
        metres = diameter * np.arcsin(np.minimum(1.0, np.sqrt(a)))
        if self._on_startup:
            seconds = (metres / mps + startup) * self._factor
        else:
            seconds = metres / mps * self._factor + startup
        stale = age > p.stale_after_s
        seconds = seconds + np.where(stale, p.stale_widen_factor * age, 0.0)
        return Etas(np.where(age > p.drop_after_s, np.inf, seconds), stale)
