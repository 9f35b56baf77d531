"""Coverage (无警巡逻): platforms whose area is left without an available unit that could reach
it within its tier target, each with a suggested move-up of an idle unit from a platform that
has spare ones. A suggestion for the command centre, never an automatic move."""

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from kj_dispatch.domain.eta import EtaModel
from kj_dispatch.domain.model import FleetUnit

_NONE = np.empty(0)


@dataclass(frozen=True, slots=True)
class PlatformArea:
    platform_id: str
    lat: float
    lon: float
    target_s: float  # the tier target at the platform's base


@dataclass(frozen=True, slots=True)
class CoverageGap:
    platform_id: str
    best_eta_s: float | None  # the nearest available unit's ETA, if any
    target_s: float
    suggested_unit_id: str | None
    suggested_from_platform_id: str | None


def coverage_gaps(
    areas: Iterable[PlatformArea],
    units: Iterable[FleetUnit],
    eta: EtaModel,
    now: datetime,
    *,
    spare_at_least: int = 2,
) -> list[CoverageGap]:
    free = [u for u in units if u.dispatchable(now)]
    per_platform = Counter(u.platform_id for u in free)
    platform_of = np.array([u.platform_id for u in free], dtype=object)
    has_spares = np.array([per_platform[p] >= spare_at_least for p in platform_of], dtype=bool)
    gaps: list[CoverageGap] = []
    areas = list(areas)
    # every free unit's ETA to every platform's base (inf: fix too old to use)
    etas = eta.estimates_to(free, [(a.lat, a.lon) for a in areas], now) if free else []
    for k, area in enumerate(areas):
        seconds = etas[k].seconds if free else _NONE
        best = float(seconds.min()) if len(seconds) else math.inf
        if best <= area.target_s:
            continue
        # the move-up: the idle unit nearest the gap among platforms that keep one at home
        movable = np.where(has_spares & (platform_of != area.platform_id), seconds, math.inf)
        j = int(movable.argmin()) if len(movable) else -1
        suggested = free[j] if j >= 0 and movable[j] < math.inf else None
        gaps.append(
            CoverageGap(
                area.platform_id,
                best if best < math.inf else None,
                area.target_s,
                suggested.unit_id if suggested else None,
                suggested.platform_id if suggested else None,
            )
        )
    return gaps
