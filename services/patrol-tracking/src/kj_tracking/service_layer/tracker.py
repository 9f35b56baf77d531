"""The tracker: in-memory unit state fed by ping batches and work-order messages, with the
side effects each batch needs (unit states out, arrivals and check-ins recorded, rejects
dead-lettered, track rows queued). Every decision is a domain function; this module only
sequences them and the adapters."""

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import asyncpg
import structlog

from kj_runtime.consume import Refusal, placed
from kj_runtime.outbox import Outbox
from kj_schemas.enums import UnitStatus
from kj_tracking.adapters import records
from kj_tracking.adapters.ping_codec import PingWire
from kj_tracking.adapters.state_codec import encode_state
from kj_tracking.adapters.tracks import TrackWriter, track_rows
from kj_tracking.domain import status as unit_status
from kj_tracking.domain.arrival import Arrival, detect
from kj_tracking.domain.checkins import CheckIn, Checkpoint, CheckpointIndex, observe
from kj_tracking.domain.posts import reach_post
from kj_tracking.domain.publication import (
    PublishRules,
    TrackRules,
    due,
    mark_published,
    worth_keeping,
)
from kj_tracking.domain.status import regain_contact
from kj_tracking.domain.units import NO_FIX, UnitTrack
from kj_tracking.domain.validation import REJECTIONS, Outcome, Rules, classify, window
from kj_tracking.metrics import (
    ARRIVALS,
    CHECKINS,
    LOST_CONTACT,
    PING_DELAY,
    PINGS,
    STATES_PUBLISHED,
    UNITS_BY_STATUS,
)

log = structlog.get_logger(__name__)

# [(unit id, encoded UnitState)] -> returns when the broker has them all
PublishStates = Callable[[list[tuple[str, bytes]]], Awaitable[None]]


@dataclass(frozen=True)
class Policy:
    rules: Rules = field(default_factory=Rules)
    publish: PublishRules = field(default_factory=PublishRules)
    tracks: TrackRules = field(default_factory=TrackRules)  # which trusted fixes are stored
    arrival_radius_m: float = 100.0
    base_radius_m: float = 150.0
    returning_timeout_s: float = 1800.0
    checkin_dwell_s: float = 60.0
    silence_s: float = 60.0


@dataclass
class Tracker:
    units: dict[str, UnitTrack]
    platforms: dict[str, tuple[float, float]]
    checkpoints: dict[str, list[Checkpoint]]
    policy: Policy
    publish_states: PublishStates
    tracks: TrackWriter | None  # None: another process records tracks (role "state")
    pool: asyncpg.Pool | None
    outbox: Outbox
    clock: Callable[[], float] = time.time
    pending_arrivals: list[Arrival] = field(default_factory=list)
    pending_checkins: list[CheckIn] = field(default_factory=list)
    checkpoint_index: CheckpointIndex = field(init=False)
    # the units whose pings this process consumes (their partitions are assigned to it); None:
    # all of them. Only owned units are swept for silence and have their states published:
    # another state process owns the others (docs/decisions/0020).
    owned: set[str] | None = None

    def __post_init__(self) -> None:
        self.checkpoint_index = CheckpointIndex(
            cp for platform in self.checkpoints.values() for cp in platform
        )

    async def handle_pings(self, batch: Iterable[PingWire]) -> list[Refusal]:
        """One batch of pings: one loop of plain values (no object per ping besides the
        decoded one), each rarer rule behind a cheap test, side effects batched after it.
        Returns the pings refused (unknown unit, implausible), for the dead letters."""
        now = self.clock()
        units, policy, rules = self.units, self.policy, self.policy.rules
        trusted = window(now, rules)
        publish_rules, dwell_s, radius_m = (
            policy.publish,
            policy.checkin_dwell_s,
            policy.arrival_radius_m,
        )
        checkpoints, near_boxes = self.checkpoints, self.checkpoint_index.boxes
        classify_, accepted_, late_ = (
            classify,
            Outcome.accepted,
            Outcome.out_of_order,
        )
        lost, returning = UnitStatus.lost_contact, UnitStatus.returning
        accepted = 0
        outcomes: Counter[str] = Counter()
        # the refused pings themselves, placed in the batch only if there are any: counting
        # every ping's place (`enumerate`) cost about 500 instructions a ping, 1.5% of its path
        refused: list[tuple[PingWire, str, str]] = []
        keep_rows, keep, track_rules = self.tracks is not None, worth_keeping, policy.tracks
        fixes: list[PingWire] = []  # trusted and late fixes, for the track rows
        changed: dict[str, UnitTrack] = {}
        for wire in batch:
            unit = units.get(wire.unit_id)
            if unit is None:
                outcomes["unknown_unit"] += 1
                refused.append((wire, "unknown_unit", f"unknown_unit: unit {wire.unit_id}"))
                continue
            at = wire.ts
            outcome = classify_(unit, at, wire.lat, wire.lon, wire.accuracy_m, trusted, rules)
            if outcome is accepted_:
                accepted += 1
                if not accepted & 63:  # sampled: a histogram observation costs a lock
                    PING_DELAY.observe(max(now - at.timestamp(), 0.0))
                restored = unit.status is lost and regain_contact(unit)
                unit.move(at, wire.lat, wire.lon, wire.speed_kmh, wire.heading_deg, now)
                if keep_rows and keep(unit, at, wire.lat, wire.lon, track_rules):
                    fixes.append(wire)
                arrival = detect(unit, radius_m) if unit.work_order_id is not None else None
                if arrival is None and unit.post is not None and not unit.post.reached:
                    arrival = reach_post(unit)  # at its post (a reposition)
                if arrival is not None:
                    self.pending_arrivals.append(arrival)
                if unit.checkpoint_id is not None or (
                    # CheckpointIndex.near, inlined: most fixes stop here
                    (box := near_boxes.get(unit.platform_id)) is not None
                    and box[0] <= wire.lat <= box[1]
                    and box[2] <= wire.lon <= box[3]
                ):
                    checkin = observe(unit, checkpoints.get(unit.platform_id, []), dwell_s)
                    if checkin is not None:
                        self.pending_checkins.append(checkin)
                if unit.status is returning:
                    self._back_at_base(unit, now)
                if restored or arrival is not None or due(unit, now, publish_rules):
                    changed[wire.unit_id] = unit
                continue
            outcomes[outcome] += 1
            if outcome is late_:
                if keep_rows:
                    fixes.append(wire)
            elif outcome in REJECTIONS:
                refused.append((wire, outcome.value, f"{outcome.value}: unit {wire.unit_id}"))
        await self._record()
        await self.publish(changed.values(), now)
        if self.tracks is not None and fixes:
            self.tracks.offer(track_rows(fixes, now))
        if accepted:
            PINGS.labels("accepted").inc(accepted)
        for outcome_name, count in outcomes.items():
            PINGS.labels(outcome_name).inc(count)
        return placed(batch, refused)

    def _back_at_base(self, unit: UnitTrack, now: float) -> bool:
        base = self.platforms.get(unit.platform_id)
        if base is None:
            return False
        return unit_status.back_at_base(
            unit,
            base[0],
            base[1],
            now,
            radius_m=self.policy.base_radius_m,
            timeout_s=self.policy.returning_timeout_s,
        )

    async def _record(self) -> None:
        """Arrivals and check-ins to PostgreSQL. On failure they stay pending and the batch is
        retried (the pings are then duplicates, the pending records are not lost)."""
        if not (self.pending_arrivals or self.pending_checkins) or self.pool is None:
            return
        async with self.pool.acquire() as connection:
            while self.pending_arrivals:
                arrival = self.pending_arrivals[0]
                if await records.record_arrival(connection, self.outbox, arrival):
                    ARRIVALS.inc()
                    log.info(
                        "arrival_on_scene",
                        unit_id=arrival.unit_id,
                        work_order=arrival.work_order_id,
                    )
                self.pending_arrivals.pop(0)
            if self.pending_checkins:
                await records.record_checkins(connection, self.pending_checkins)
                CHECKINS.inc(len(self.pending_checkins))
                self.pending_checkins.clear()

    def take_ownership(self, unit_ids: set[str]) -> None:
        """The partitions assigned to this process changed: from now on it owns `unit_ids`.
        A unit it just took over gets a full silence interval to be heard here before it can
        be marked lost (its pings went to another process until now)."""
        now = self.clock()
        before = self.owned if self.owned is not None else set()
        for unit_id in unit_ids - before:
            unit = self.units.get(unit_id)
            if unit is not None and unit.has_fix:
                unit.seen_at = max(unit.seen_at, now)
        self.owned = unit_ids

    async def publish(self, units: Iterable[UnitTrack], now: float) -> None:
        """Marked published only once the broker has them: if sending fails, the batch is
        retried and these units are still due (their pings are then duplicates)."""
        owned = self.owned
        units = [u for u in units if owned is None or u.unit_id in owned]
        if not units:
            return
        await self.publish_states([(unit.unit_id, encode_state(unit)) for unit in units])
        for unit in units:
            mark_published(unit, now)
        STATES_PUBLISHED.inc(len(units))

    async def sweep(self) -> None:
        """Silent units become lost_contact; returning units time out to available; the
        status gauge is refreshed."""
        now = self.clock()
        changed = []
        by_status: dict[UnitStatus, int] = {}
        owned = self.owned
        # every unit each second (20,000 at province scale): the common case, a unit heard
        # from within the silence interval and not returning, is two comparisons
        heard_since = now - self.policy.silence_s
        lost, returning, no_fix = UnitStatus.lost_contact, UnitStatus.returning, NO_FIX
        for unit in self.units.values():
            if owned is not None and unit.unit_id not in owned:
                continue
            status = unit.status
            if (
                status is not lost
                and unit.seen_at <= heard_since
                and unit_status.fall_silent(unit, now, self.policy.silence_s)
            ):
                LOST_CONTACT.inc()
                log.info("unit_lost_contact", unit_id=unit.unit_id)
                changed.append(unit)
            elif status is returning and self._back_at_base(unit, now):
                changed.append(unit)
            if unit.fix_at is not no_fix:
                status = unit.status
                by_status[status] = by_status.get(status, 0) + 1
        for status_name in UnitStatus:
            UNITS_BY_STATUS.labels(status_name.value).set(by_status.get(status_name, 0))
        await self.publish(changed, now)
