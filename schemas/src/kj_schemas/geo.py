"""Distances on the ground, shared by every service and the simulator: haversine for the
decisions that matter (arrival, check-ins, duplicate calls), an equirectangular approximation
for per-ping thresholds, and a local metric projection for spatial indexes. Plain functions."""

import math
from math import asin, cos, radians, sin, sqrt
from typing import Any, TypeVar

_A = TypeVar("_A", bound=Any)  # an array type with arithmetic (numpy's), or a float

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    p1, p2 = radians(lat1), radians(lat2)
    dlat = p2 - p1
    dlon = radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(p1) * cos(p2) * sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(a)))


def approx_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: within 0.1% of haversine below ~100 km, at a third of the
    cost. For per-ping thresholds (jumps, publication); decisions use haversine."""
    dy = (lat2 - lat1) * M_PER_DEG
    dx = (lon2 - lon1) * M_PER_DEG * cos(radians((lat1 + lat2) * 0.5))
    return sqrt(dx * dx + dy * dy)


class LocalProjection:
    """Equirectangular metres around a city centre: within a city (tens of km) the error
    against haversine is far below a GPS fix's own, and a k-d tree needs Euclidean distance."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0 = lat0
        self.lon0 = lon0
        self._kx = M_PER_DEG * math.cos(math.radians(lat0))
        self._ky = M_PER_DEG

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return ((lon - self.lon0) * self._kx, (lat - self.lat0) * self._ky)

    def xy_arrays(self, lats: _A, lons: _A) -> tuple[_A, _A]:
        """`xy` over whole arrays (numpy's) at once: a province's 20,000 units projected one
        call at a time held dispatch's event loop for tens of milliseconds (issue 20)."""
        return (lons - self.lon0) * self._kx, (lats - self.lat0) * self._ky
