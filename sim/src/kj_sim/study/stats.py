"""Means over seeds with a 95% confidence interval (Student's t: five seeds are few)."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def estimate(values: Sequence[float | None]) -> Estimate:
    """The mean with its 95% interval; the interval is the point itself for one value."""
    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not len(data):
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(data.mean())
    if len(data) < 2:
        return Estimate(mean, mean, mean, 1)
    half = float(stats.t.ppf(0.975, len(data) - 1) * data.std(ddof=1) / np.sqrt(len(data)))
    return Estimate(mean, mean - half, mean + half, len(data))
