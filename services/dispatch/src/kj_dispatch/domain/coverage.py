"""Coverage (无警巡逻): platforms whose area is left without an available unit that could reach
it within its tier target, each with a suggested move-up of an idle unit from a platform that
has spare ones. A suggestion for the command centre, never an automatic move."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.spatial import cKDTree

from kj_dispatch.domain.eta import EtaModel
from kj_schemas.geo import LocalProjection


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


@dataclass(frozen=True, slots=True)
class FleetArrays:
    """The fleet as the coverage survey reads it: one entry per unit, in arrays (the fleet keeps
    them as states and work orders arrive, `Fleet.arrays`), so that a survey of a province's
    20,000 units reads no unit object. Its arithmetic is numpy's, which lets go of the GIL: in
    a worker thread, a survey that looped over the units in Python held the GIL against
    dispatch's event loop, and every call in flight waited behind it (decision 0178)."""

    unit_ids: list[str]
    platforms: list[str]  # the platform of code c is platforms[c]
    lat: np.ndarray
    lon: np.ndarray
    kind: np.ndarray  # eta.KIND_CODE
    fix_ts: np.ndarray  # epoch seconds
    platform: np.ndarray  # codes into `platforms`
    free: np.ndarray  # bool: dispatchable at the survey's instant

    def free_per_platform(self) -> dict[str, int]:
        """Dispatchable units by platform (platforms with none are left out)."""
        counts = np.bincount(self.platform[self.free], minlength=len(self.platforms))
        return {name: int(n) for name, n in zip(self.platforms, counts, strict=True) if n}


def survey_gaps(
    areas: Iterable[PlatformArea],
    fleet: FleetArrays,
    eta: EtaModel,
    now: datetime,
    *,
    spare_at_least: int = 2,
    projection: LocalProjection | None = None,
    max_range_m: float = math.inf,
) -> list[CoverageGap]:
    """The platforms whose best free unit cannot reach their base within the target, each with
    the move-up: the free unit nearest the gap (by ETA) from another platform that keeps at
    least one at home (`spare_at_least` free units there). With a `projection` and a finite
    `max_range_m` (dispatch's: farther units are never sent), each platform is judged on the
    free units nearest it within that range only, found through a k-d tree: a province's
    20,000 units times its 300 platforms took 40% of dispatch's event loop at one report every
    2 s (issue 20). Every platform's ETAs are one matrix (platforms x units looked at)."""
    areas = list(areas)
    free = np.flatnonzero(fleet.free)
    n = len(free)
    if not areas:
        return []
    if n == 0:
        return [CoverageGap(a.platform_id, None, a.target_s, None, None) for a in areas]
    platform = fleet.platform[free]
    home = np.bincount(platform, minlength=len(fleet.platforms))
    codes = {name: code for code, name in enumerate(fleet.platforms)}
    # the units each platform is judged on (row k: indices into `free`, n where there are
    # fewer than the row holds), nearest first when a range applies
    among = _within(areas, fleet, free, projection, max_range_m)
    if among is None:
        among = np.broadcast_to(np.arange(n), (len(areas), n))
    # one more entry after `free`'s: what pads the rows (no ETA, no move-up)
    columns = [
        np.append(fleet.lat[free], 0.0),
        np.append(fleet.lon[free], 0.0),
        np.append(fleet.kind[free], 0),
        np.append(fleet.fix_ts[free], 0.0),  # 1970: too old for any estimate
    ]
    unit_platform = np.append(platform, -1)
    spare = np.append(home[platform] >= spare_at_least, False)
    place = np.array([[a.lat, a.lon] for a in areas])
    area_codes = np.array([codes.get(a.platform_id, -1) for a in areas])
    best = np.empty(len(areas))
    move_up = np.empty(len(areas), dtype=np.intp)  # index into `free`; n: none
    rows = max(1, _MATRIX_CELLS // among.shape[1])  # the whole fleet for every platform: bounded
    for first in range(0, len(areas), rows):
        part = slice(first, first + rows)
        looked = among[part]
        lats, lons, kinds, fixes = (column[looked] for column in columns)
        seconds = eta.estimates_of(
            lats, lons, kinds, fixes, place[part, :1], place[part, 1:], now
        ).seconds
        seconds = np.where(looked < n, seconds, np.inf)
        best[part] = seconds.min(axis=1)
        movable = np.where(
            spare[looked] & (unit_platform[looked] != area_codes[part, None]), seconds, np.inf
        )
        nearest = movable.argmin(axis=1)  # the first of equals, as the rows are ordered
        ok = movable[np.arange(len(nearest)), nearest] < np.inf
        move_up[part] = np.where(ok, looked[np.arange(len(nearest)), nearest], n)
    targets = np.array([a.target_s for a in areas])
    gaps: list[CoverageGap] = []
    for k in np.flatnonzero(best > targets):
        area = areas[k]
        suggested = int(free[move_up[k]]) if move_up[k] < n else None
        gaps.append(
            CoverageGap(
                area.platform_id,
                float(best[k]) if best[k] < np.inf else None,
                area.target_s,
                fleet.unit_ids[suggested] if suggested is not None else None,
                fleet.platforms[fleet.platform[suggested]] if suggested is not None else None,
            )
        )
    return gaps


def _within(
    areas: list[PlatformArea],
    fleet: FleetArrays,
    free: np.ndarray,
    projection: LocalProjection | None,
    max_range_m: float,
) -> np.ndarray | None:
    """For each area, the indices (in `free`) of the `_NEAREST` units nearest it within
    `max_range_m`, nearest first, `len(free)` past the last; None when no range applies. Local
    metres stretch with the distance from the projection's centre (a province spans hundreds
    of km): the radius has a margin, and the ETAs that follow are great-circle ones. Hundreds
    of units nearer than the best one leave a platform covered whatever their kinds; the
    move-up looks among them too."""
    if projection is None or not math.isfinite(max_range_m):
        return None
    n = len(free)
    tree = cKDTree(np.column_stack(projection.xy_arrays(fleet.lat[free], fleet.lon[free])))
    a_lats = np.array([a.lat for a in areas], dtype=np.float64)
    a_lons = np.array([a.lon for a in areas], dtype=np.float64)
    centres = np.column_stack(projection.xy_arrays(a_lats, a_lons))
    k = min(_NEAREST, n)
    _, found = tree.query(centres, k=k, distance_upper_bound=max_range_m * _RANGE_MARGIN)
    return np.asarray(found).reshape(len(areas), k)  # k == 1 gives one column, not a matrix


_NEAREST = 256
_RANGE_MARGIN = 1.1
_MATRIX_CELLS = 1_000_000  # platforms x units in one ETA matrix, at most
