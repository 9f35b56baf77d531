"""Response tier of a location (1/3/5 minutes): the city's zones through a spatial index.

Where zones overlap the smallest target wins; outside every zone the county target applies.
"""

from dataclasses import dataclass

from shapely import STRtree
from shapely.geometry import Point

from kj_schemas.city import Zone
from kj_schemas.enums import ResponseTier


@dataclass(frozen=True)
class Classification:
    tier: ResponseTier
    target_seconds: int
    zone_id: str | None  # None outside every zone


class TierClassifier:
    """Built once from the city's zones; `classify` is a point query on an STRtree."""

    def __init__(self, zones: list[Zone], targets: dict[ResponseTier, int]) -> None:
        if ResponseTier.county not in targets:
            raise ValueError("targets need a county target (it applies outside all zones)")
        self._zones = list(zones)
        self._targets = dict(targets)
        self._tree = STRtree([zone.geometry for zone in self._zones])

    def classify(self, lat: float, lon: float) -> Classification:
        hits = self._tree.query(Point(lon, lat), predicate="intersects")
        best: Classification | None = None
        for index in hits:
            zone = self._zones[int(index)]
            target = self._targets[zone.tier]
            if best is None or target < best.target_seconds:
                best = Classification(zone.tier, target, zone.id)
        if best is not None:
            return best
        return Classification(ResponseTier.county, self._targets[ResponseTier.county], None)
