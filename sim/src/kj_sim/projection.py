"""A local flat projection around the city centre: metres east (x) and north (y). Good to a
few metres over a city; the simulator moves units in metres and reports degrees."""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON_AT_EQUATOR = 111_320.0


@dataclass(frozen=True)
class LocalProjection:
    lat0: float
    lon0: float

    @property
    def _m_per_deg_lon(self) -> float:
        return M_PER_DEG_LON_AT_EQUATOR * math.cos(math.radians(self.lat0))

    def to_xy(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return (lon - self.lon0) * self._m_per_deg_lon, (lat - self.lat0) * M_PER_DEG_LAT

    def to_latlon(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return self.lat0 + y / M_PER_DEG_LAT, self.lon0 + x / self._m_per_deg_lon
