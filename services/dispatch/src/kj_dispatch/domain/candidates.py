"""Candidate search: a k-d tree over unit positions in local metres, rebuilt when units moved
and the last build is older than a short interval. A query takes the nearest k by distance and
re-ranks them by ETA; it never looks at every unit."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.spatial import cKDTree

from kj_dispatch.domain.eta import EtaModel
from kj_dispatch.domain.model import FleetUnit, Option
from kj_schemas.geo import LocalProjection

Accept = Callable[[FleetUnit], bool]
_INF = float("inf")


@dataclass(frozen=True, slots=True)
class Search:
    """Options best ETA first, and what was seen on the way (to say why there were none)."""

    options: list[Option]
    in_range: int  # units within range among those looked at
    free: int  # of those, units the caller would accept
    too_stale: int  # free units whose fix was too old to estimate


@dataclass(frozen=True, slots=True)
class Built:
    """A candidate tree and the units in its order."""

    units: list[FleetUnit]
    tree: cKDTree | None


class CandidateIndex:
    def __init__(
        self,
        projection: LocalProjection,
        eta: EtaModel,
        *,
        rebuild_interval_s: float = 0.25,
        max_range_m: float = 30_000.0,
    ) -> None:
        self.projection = projection
        self.eta = eta
        self.rebuild_interval_s = rebuild_interval_s
        self.max_range_m = max_range_m
        self._units: list[FleetUnit] = []
        self._tree: cKDTree | None = None
        self._built_at: float = float("-inf")
        self.dirty = True
        self.builds = 0

    def build(self, units: list[FleetUnit], lats: np.ndarray, lons: np.ndarray) -> "Built":
        """The tree over `units` at `lats`, `lons` (their positions, in the same order: the
        fleet keeps them as states arrive, decision 0169). Changes nothing, so it may run in a
        worker thread while the units' states are applied (decision 0167)."""
        if not units:
            return Built(units, None)
        x, y = self.projection.xy_arrays(lats, lons)
        # the sliding-midpoint build: 20,000 units in 3.5 ms against 6.1 for the balanced one;
        # a plan's few queries do not notice
        return Built(
            units, cKDTree(np.column_stack((x, y)), balanced_tree=False, compact_nodes=False)
        )

    def install(self, built: "Built", *, at: float) -> bool:
        """Use `built`, made from the units as they were at `at`, unless a newer one is in use
        already. True when it was installed."""
        if at <= self._built_at:
            return False
        self._use(built, at)
        return True

    def rebuild(
        self, units: list[FleetUnit], lats: np.ndarray, lons: np.ndarray, *, at: float
    ) -> None:
        self.dirty = False
        self._use(self.build(units, lats, lons), at)

    def _use(self, built: "Built", at: float) -> None:
        self._units, self._tree = built.units, built.tree
        self._built_at = at
        self.builds += 1

    def due(self, at: float) -> bool:
        """A build is due: units moved since the last one, `rebuild_interval_s` ago or more."""
        return self.dirty and at - self._built_at >= self.rebuild_interval_s

    def behind(self, at: float) -> bool:
        """So far behind that a plan builds it itself rather than use it: units moved and the
        last build is older than four intervals (the background builds fell behind)."""
        return self.dirty and at - self._built_at >= 4 * self.rebuild_interval_s

    def nearest(
        self,
        lat: float,
        lon: float,
        now: datetime,
        *,
        accept: Accept,
        k: int = 0,
        want: int = 4,
    ) -> Search:
        """Options for a scene, best ETA first: up to `want` accepted units among the nearest,
        widening k until enough are found or the range is exhausted. Also returns how many
        units in range were seen (for the shortfall reason)."""
        if self._tree is None:
            return Search([], 0, 0, 0)
        x, y = self.projection.xy(lat, lon)
        total = len(self._units)
        k = k or want + 3
        estimate = self.eta.estimate
        options: list[Option] = []
        looked = seen = free = stale = 0
        while True:
            kk = min(k, total)
            distances, indexes = self._tree.query(
                (x, y), k=kk, distance_upper_bound=self.max_range_m
            )
            if kk == 1:
                distances, indexes = [distances], [indexes]
            else:  # plain Python numbers: iterating numpy scalars costs more than the search
                distances, indexes = distances.tolist(), indexes.tolist()
            # a widened query starts past the units the last one already looked at
            for distance, index in zip(distances[looked:], indexes[looked:], strict=True):
                if distance == _INF:
                    break
                seen += 1
                unit = self._units[index]
                if not accept(unit):
                    continue
                free += 1
                eta = estimate(unit, lat, lon, now)
                if eta is None:
                    stale += 1
                    continue
                options.append(
                    Option(
                        unit.unit_id,
                        unit.platform_id,
                        unit.kind,
                        eta.seconds,
                        eta.stale,
                        unit.commitment,
                    )
                )
            exhausted = kk >= total or seen < kk
            if len(options) >= want or exhausted:
                options.sort(key=_by_eta)
                return Search(options, seen, free, stale)
            looked = kk
            k *= 4


def _by_eta(option: Option) -> float:
    return option.eta_s
