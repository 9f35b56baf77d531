"""Response tier of a location (1/3/5 minutes): the city's zones through a spatial index.

Where zones overlap the smallest target wins; outside every zone the county target applies.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

from kj_schemas.city import Zone
from kj_schemas.enums import ResponseTier


@dataclass(frozen=True)
class Classification:
    tier: ResponseTier
    target_seconds: int
    zone_id: str | None  # None outside every zone


class TierClassifier:
    """Built once from the city's zones; `classify_many` is one vectorised point query on an
    STRtree for a whole batch of locations (a call per point cost more than the query)."""

    def __init__(self, zones: list[Zone], targets: dict[ResponseTier, int]) -> None:
        if ResponseTier.county not in targets:
            raise ValueError("targets need a county target (it applies outside all zones)")
        self._zones = list(zones)
        self._targets = dict(targets)
        self._tree = STRtree([zone.geometry for zone in self._zones])

    def classify(self, lat: float, lon: float) -> Classification:
        return self.classify_many([(lat, lon)])[0]

    def classify_many(self, points: Sequence[tuple[float, float]]) -> list[Classification]:
        """The classification of each (lat, lon), in order."""
        county = Classification(ResponseTier.county, self._targets[ResponseTier.county], None)
        best: list[Classification] = [county] * len(points)
        if not points:
            return best
        coords = np.asarray(points, dtype=float)[:, ::-1]  # shapely wants (lon, lat)
        inputs, zones = self._tree.query(shapely.points(coords), predicate="intersects")
        for point, index in zip(inputs.tolist(), zones.tolist(), strict=True):
            zone = self._zones[index]
            target = self._targets[zone.tier]
            if best[point] is county or target < best[point].target_seconds:
                best[point] = Classification(zone.tier, target, zone.id)
        return best
