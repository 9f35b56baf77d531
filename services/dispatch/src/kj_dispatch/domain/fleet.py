"""The fleet as dispatch sees it: each unit's latest trusted state from `units.state`, overlaid
with dispatch's own knowledge (its open work orders, units another dispatcher holds, units that
went silent), and the candidate index over their positions."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from kj_dispatch.domain.candidates import Built, CandidateIndex
from kj_dispatch.domain.coverage import FleetArrays
from kj_dispatch.domain.eta import KIND_CODE
from kj_dispatch.domain.model import Commitment, FleetUnit
from kj_schemas.enums import UnitKind, UnitStatus

ON_PATROL = frozenset({UnitStatus.available, UnitStatus.returning})


@dataclass(frozen=True, slots=True)
class IndexSnapshot:
    """What a build of the candidate index elsewhere needs: the units in the order they joined,
    and their positions then (copies, in the same order)."""

    units: list[FleetUnit]
    lats: np.ndarray
    lons: np.ndarray


class Fleet:
    def __init__(self, index: CandidateIndex) -> None:
        self.index = index
        self.units: dict[str, FleetUnit] = {}
        self._commitments: dict[str, Commitment] = {}  # unit id -> our open work order
        # units the database says another dispatch process holds: kept until that work order
        # ends (its event, or a recheck of the database), whatever the unit's position says
        self._held: set[str] = set()
        # units a dispatcher put off duty or out of service: kept out of every assignment,
        # whatever their terminals report, until put back on duty
        self._stood_down: set[str] = set()
        # units never leave the fleet: the first `_indexed` to join are in the index in use
        self._indexed = 0
        # every unit's position in the order it joined, kept as states arrive, so that a build
        # of the index copies two arrays instead of reading 20,000 units' attributes in Python
        # while it holds the GIL against the loop (decision 0169)
        self._slot: dict[str, int] = {}
        self._lat = np.zeros(1024)
        self._lon = np.zeros(1024)
        # and what the coverage survey reads of each, so that it reads no unit object either
        # (decision 0178): kind, fix, platform, and what keeps it from being dispatchable
        self._kind = np.zeros(1024, dtype=np.int8)
        self._fix_ts = np.zeros(1024)
        self._platform = np.zeros(1024, dtype=np.int32)
        self._platforms: dict[str, int] = {}
        self._on_patrol = np.zeros(1024, dtype=bool)
        self._taken = np.zeros(1024, dtype=bool)  # committed, held elsewhere or stood down
        self._unresponsive_until = np.full(1024, -np.inf)

    def __iter__(self) -> Iterator[FleetUnit]:
        return iter(self.units.values())

    def __len__(self) -> int:
        return len(self.units)

    def update(
        self,
        *,
        unit_id: str,
        platform_id: str,
        kind: UnitKind,
        status: UnitStatus,
        lat: float,
        lon: float,
        fix_at: datetime,
        last_seen_at: datetime,
        at_post: bool = False,
    ) -> bool:
        """Apply a state from patrol tracking. True when the unit became dispatchable."""
        unit = self.units.get(unit_id)
        if unit is not None and fix_at < unit.fix_at:
            return False  # an older state than the one we hold
        was_free = unit is not None and unit.dispatchable(last_seen_at)
        if unit is None:
            unit = FleetUnit(unit_id, platform_id, kind, lat, lon, fix_at, status in ON_PATROL)
            slot = self._slot[unit_id] = len(self.units)
            self.units[unit_id] = unit
            if slot == len(self._lat):
                self._grow()
        else:
            unit.platform_id, unit.kind = platform_id, kind
            unit.lat, unit.lon, unit.fix_at = lat, lon, fix_at
            unit.fix_ts = fix_at.timestamp()
            unit.on_patrol = status in ON_PATROL
            slot = self._slot[unit_id]
        self._lat[slot], self._lon[slot] = lat, lon
        # a unit another dispatcher holds stays held until its work order ends: a position from
        # patrol tracking says nothing of it (clearing it here retried the same refused unit
        # every ~100 ms, issue 14)
        unit.held_elsewhere = unit_id in self._held
        unit.at_post = at_post
        unit.stood_down = unit_id in self._stood_down
        unit.commitment = self._commitments.get(unit_id)
        self._kind[slot], self._fix_ts[slot] = KIND_CODE[kind], unit.fix_ts
        self._platform[slot] = self._platforms.setdefault(platform_id, len(self._platforms))
        self._on_patrol[slot] = unit.on_patrol
        self._mark(unit)
        self.index.dirty = True
        return not was_free and unit.dispatchable(last_seen_at)

    def _grow(self) -> None:
        for name in (
            "_lat",
            "_lon",
            "_kind",
            "_fix_ts",
            "_platform",
            "_on_patrol",
            "_taken",
            "_unresponsive_until",
        ):
            column = getattr(self, name)
            more = np.full_like(column, -np.inf if name == "_unresponsive_until" else 0)
            setattr(self, name, np.concatenate((column, more)))

    def _mark(self, unit: FleetUnit) -> None:
        """The unit's array entries that follow its work orders and the dispatchers' word."""
        slot = self._slot[unit.unit_id]
        self._taken[slot] = unit.commitment is not None or unit.held_elsewhere or unit.stood_down
        until = unit.unresponsive_until
        self._unresponsive_until[slot] = -np.inf if until is None else until.timestamp()

    def arrays(self, now: datetime) -> FleetArrays:
        """Every unit as arrays, copies (the coverage survey reads them off the event loop),
        `free` as `FleetUnit.dispatchable(now)` says."""
        n = len(self.units)
        return FleetArrays(
            unit_ids=list(self.units),  # in the order they joined: their slots
            platforms=list(self._platforms),
            lat=self._lat[:n].copy(),
            lon=self._lon[:n].copy(),
            kind=self._kind[:n].copy(),
            fix_ts=self._fix_ts[:n].copy(),
            platform=self._platform[:n].copy(),
            free=self._on_patrol[:n]
            & ~self._taken[:n]
            & (self._unresponsive_until[:n] <= now.timestamp()),
        )

    def commit(self, unit_id: str, commitment: Commitment) -> None:
        self._commitments[unit_id] = commitment
        if unit_id in self.units:
            self.units[unit_id].commitment = commitment
            self._mark(self.units[unit_id])
        self.index.dirty = True

    def release(self, unit_id: str) -> None:
        self._commitments.pop(unit_id, None)
        self._held.discard(unit_id)
        unit = self.units.get(unit_id)
        if unit is not None:
            unit.commitment = None
            unit.held_elsewhere = False
            self._mark(unit)
        self.index.dirty = True

    def commitment_of(self, unit_id: str) -> Commitment | None:
        return self._commitments.get(unit_id)

    def hold_elsewhere(self, unit_id: str) -> None:
        """Another dispatch process holds the unit (the database refused it to us, or its work
        order is of a region another process decides for)."""
        self._held.add(unit_id)
        if unit_id in self.units:
            self.units[unit_id].held_elsewhere = True
            self._mark(self.units[unit_id])
            self.index.dirty = True

    @property
    def held_elsewhere(self) -> frozenset[str]:
        return frozenset(self._held)

    def set_stood_down(self, units: set[str]) -> bool:
        """The units a dispatcher took off duty (all of them: the others are on duty). True when
        a unit came back on duty (it may be free for a waiting alarm)."""
        back = self._stood_down - units
        self._stood_down = set(units)
        for unit_id, unit in self.units.items():
            unit.stood_down = unit_id in units
            self._mark(unit)
        self.index.dirty = True
        return bool(back)

    @property
    def stood_down(self) -> frozenset[str]:
        return frozenset(self._stood_down)

    def mark_unresponsive(self, unit_id: str, until: datetime) -> None:
        if unit_id in self.units:
            self.units[unit_id].unresponsive_until = until
            self._mark(self.units[unit_id])

    def answered(self, unit_id: str) -> None:
        """The unit's terminal spoke: it is not silent any more."""
        if unit_id in self.units:
            self.units[unit_id].unresponsive_until = None
            self._mark(self.units[unit_id])
            self.index.dirty = True

    def refresh_index(self, at: float) -> None:
        """Rebuild when units moved and the last build is older than the interval; at once when
        a unit joined (positions may lag by the interval, availability never does)."""
        if len(self.units) > self._indexed or self.index.due(at):
            self._rebuild(at)

    def ready_index(self, at: float) -> None:
        """Before a plan, with the index built in the background (`index_snapshot`): rebuilt
        here only when a unit joined since the last build or the builds fell behind."""
        if len(self.units) > self._indexed or self.index.behind(at):
            self._rebuild(at)

    def _rebuild(self, at: float) -> None:
        n = len(self.units)
        self.index.rebuild(list(self.units.values()), self._lat[:n], self._lon[:n], at=at)
        self._indexed = n

    def index_snapshot(self) -> IndexSnapshot:
        """The units and their positions to build the index from elsewhere
        (`CandidateIndex.build`, then `install_index`)."""
        self.index.dirty = False  # states applied from here on make it dirty again
        n = len(self.units)
        return IndexSnapshot(list(self.units.values()), self._lat[:n].copy(), self._lon[:n].copy())

    def install_index(self, built: Built, *, at: float) -> None:
        """Use an index built from `index_snapshot`'s units: the first of them to join, so a
        unit that joined since is missing and the next plan builds it again."""
        if self.index.install(built, at=at):
            self._indexed = len(built.units)
