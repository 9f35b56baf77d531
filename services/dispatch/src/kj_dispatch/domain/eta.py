"""Travel time from a unit's last fix to a scene. `EtaModel` is the interface the policy uses;
`StraightLineEta` is today's model. A road-network router (a networkx graph loaded from a
GeoJSON road file, say) implements the same protocol later without touching the policy."""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from kj_dispatch.domain.geo import haversine_m
from kj_dispatch.domain.model import FleetUnit
from kj_schemas.enums import UnitKind


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
    # travel-time multiplier by local hour (0-23); hours not listed are 1.0
    congestion_by_hour: dict[int, float] = Field(
        default_factory=lambda: {7: 1.4, 8: 1.5, 12: 1.2, 17: 1.5, 18: 1.4}
    )
    timezone: str = "Asia/Shanghai"
    stale_after_s: float = Field(default=60.0, gt=0)  # older fixes are widened...
    drop_after_s: float = Field(default=300.0, gt=0)  # ...and older still are not used at all
    stale_widen_factor: float = Field(default=0.5, ge=0)  # seconds added per second of fix age


@dataclass(frozen=True, slots=True)
class Eta:
    seconds: float
    stale: bool  # the fix was old: the estimate was widened


class EtaModel(Protocol):
    def estimate(self, unit: FleetUnit, lat: float, lon: float, now: datetime) -> Eta | None:
        """Seconds from the unit's last fix to (lat, lon); None when the fix is too old to use."""
        ...


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class StraightLineEta:
    """haversine × circuity ÷ speed(kind) + start-up(kind), × congestion(local hour);
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

    def congestion(self, now: datetime) -> float:
        key = int(now.timestamp()) // 3600
        if self._hour_cache[0] != key:
            hour = now.astimezone(self._zone).hour
            self._hour_cache = (key, self.params.congestion_by_hour.get(hour, 1.0))
        return self._hour_cache[1]

    def estimate(self, unit: FleetUnit, lat: float, lon: float, now: datetime) -> Eta | None:
        p = self.params
        if now is not self._now:  # one query asks about many units at the same instant
            self._now, self._now_ts, self._factor = now, now.timestamp(), self.congestion(now)
        age = self._now_ts - unit.fix_ts
        if age > p.drop_after_s:
            return None
        metres = haversine_m(unit.lat, unit.lon, lat, lon) * p.circuity
        seconds = (metres / self._mps[unit.kind] + self._startup[unit.kind]) * self._factor
        if age > p.stale_after_s:
            return Eta(seconds + p.stale_widen_factor * age, True)
        return Eta(seconds, False)
