"""Who is near an incident: a k-d tree over positions projected to local metres (the same
technique as dispatch). Plain data in, ids out."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class Person:
    recipient_id: str
    kind: str
    lat: float
    lon: float


class NearbyIndex:
    """Built once per registry snapshot; queried per broadcast."""

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = list(people)
        self._lat0 = (
            math.radians(sum(p.lat for p in self.people) / len(self.people)) if self.people else 0
        )
        self._tree = (
            cKDTree(self._project([(p.lat, p.lon) for p in self.people])) if people else None
        )

    def _project(self, points: Sequence[tuple[float, float]]) -> np.ndarray:
        array = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
        x = array[:, 1] * math.cos(self._lat0) * EARTH_RADIUS_M
        y = array[:, 0] * EARTH_RADIUS_M
        return np.column_stack((x, y))

    def within(self, lat: float, lon: float, radius_m: float, kinds: set[str]) -> list[Person]:
        if self._tree is None:
            return []
        centre = self._project([(lat, lon)])[0]
        hits = self._tree.query_ball_point(centre, r=radius_m)
        found = [self.people[i] for i in sorted(hits)]
        return [person for person in found if person.kind in kinds]
