"""Coverage (无警巡逻): platforms whose area is left without an available unit that could reach
it within its tier target, each with a suggested move-up of an idle unit from a platform that
has spare ones. A suggestion for the command centre, never an automatic move."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from kj_dispatch.domain.eta import EtaModel
from kj_dispatch.domain.model import FleetUnit


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
    free_by_platform: dict[str, list[FleetUnit]] = {}
    for unit in free:
        free_by_platform.setdefault(unit.platform_id, []).append(unit)
    gaps: list[CoverageGap] = []
    for area in areas:
        best: float | None = None
        for unit in free:
            estimate = eta.estimate(unit, area.lat, area.lon, now)
            if estimate is not None and (best is None or estimate.seconds < best):
                best = estimate.seconds
        if best is not None and best <= area.target_s:
            continue
        unit_id, from_platform = _suggest(area, free_by_platform, eta, now, spare_at_least)
        gaps.append(CoverageGap(area.platform_id, best, area.target_s, unit_id, from_platform))
    return gaps


def _suggest(
    area: PlatformArea,
    free_by_platform: Mapping[str, list[FleetUnit]],
    eta: EtaModel,
    now: datetime,
    spare_at_least: int,
) -> tuple[str | None, str | None]:
    """The idle unit nearest the gap among platforms that keep at least one unit at home."""
    best: tuple[float, str, str] | None = None
    for platform_id, units in free_by_platform.items():
        if platform_id == area.platform_id or len(units) < spare_at_least:
            continue
        for unit in units:
            estimate = eta.estimate(unit, area.lat, area.lon, now)
            if estimate is not None and (best is None or estimate.seconds < best[0]):
                best = (estimate.seconds, unit.unit_id, platform_id)
    return (best[1], best[2]) if best else (None, None)
