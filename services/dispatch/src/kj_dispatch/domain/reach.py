"""Reach: the probability that a unit of a kind, patrolling around a point, is on scene within
a demand cell's target. Travel time is the (calibrated) ETA model's, over the root-mean-square
distance from a point of the patrol disc to the cell; its spread is the calibration's
measured ÷ predicted spread per kind. Rows for posts are cached per kind and congestion level."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from kj_dispatch.domain.demand import DemandModel
from kj_dispatch.domain.eta import EtaParams
from kj_schemas.enums import UnitKind

_NEGLIGIBLE = 1e-3  # probabilities below this are taken as 0 (keeps sums cheap and exact)


@dataclass
class Reach:
    params: EtaParams
    cells: DemandModel
    patrol_radius_m: float = 100.0
    spread: Mapping[UnitKind, float] = field(default_factory=dict)
    default_spread: float = 0.2
    _cache: dict[tuple[UnitKind, float, int], np.ndarray] = field(default_factory=dict)

    def probability(
        self, kind: UnitKind, x: np.ndarray, y: np.ndarray, factor: float, *, patrol: bool = True
    ) -> np.ndarray:
        """(points, cells): P(on scene within the cell's target) from each point."""
        # float32 throughout: metres and seconds need no more, and the matrices are large
        x = np.atleast_1d(np.asarray(x, dtype=np.float32))
        y = np.atleast_1d(np.asarray(y, dtype=np.float32))
        dx = x[:, None] - self.cells.x.astype(np.float32)[None, :]
        dy = y[:, None] - self.cells.y.astype(np.float32)[None, :]
        squared = dx * dx + dy * dy
        if patrol:
            squared += np.float32(self.patrol_radius_m**2 / 2)
        seconds = self.params.seconds(kind, np.sqrt(squared), factor).astype(np.float32)
        sigma = np.float32(self.spread.get(kind, self.default_spread)) * seconds
        slack = self.cells.target_s.astype(np.float32)[None, :] - seconds
        p = ndtr(slack / np.maximum(sigma, np.float32(1e-6)))
        p[p < _NEGLIGIBLE] = 0.0
        return p.astype(np.float32, copy=False)

    def at_posts(
        self, kind: UnitKind, posts_x: np.ndarray, posts_y: np.ndarray, factor: float, key: int
    ) -> np.ndarray:
        """`probability` for a fixed set of posts (named by `key`), cached."""
        level = round(factor * 20) / 20  # congestion levels 0.05 apart share their rows
        cached = self._cache.get((kind, level, key))
        if cached is None:
            cached = self.probability(kind, posts_x, posts_y, level)
            self._cache[(kind, level, key)] = cached
        return cached
