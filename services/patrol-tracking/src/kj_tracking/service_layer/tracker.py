"""The tracker: in-memory unit state fed by ping batches and work-order messages, with the
side effects each batch needs (unit states out, arrivals and check-ins recorded, rejects
dead-lettered, track rows queued). Every decision is a domain function; this module only
sequences them and the adapters."""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from kj_runtime.outbox import Outbox
from kj_schemas.enums import UnitStatus
from kj_tracking.adapters import records
from kj_tracking.adapters.ping_codec import DecodeError, decode_wire, to_fix
from kj_tracking.adapters.state_codec import encode_state
from kj_tracking.adapters.tracks import Row, TrackWriter
from kj_tracking.domain import status as unit_status
from kj_tracking.domain.arrival import Arrival, detect
from kj_tracking.domain.checkins import CheckIn, Checkpoint, observe
from kj_tracking.domain.publication import PublishRules, due, mark_published
from kj_tracking.domain.units import UnitTrack
from kj_tracking.domain.validation import REJECTIONS, Outcome, Rules, check
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

# (unit id, encoded UnitState) -> a future that resolves when the broker has it
PublishState = Callable[[str, bytes], Awaitable[asyncio.Future[object]]]
# (record, reason, detail) -> sent
DeadLetter = Callable[[ConsumerRecord, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Policy:
    rules: Rules = field(default_factory=Rules)
    publish: PublishRules = field(default_factory=PublishRules)
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
    publish_state: PublishState
    dead_letter: DeadLetter
    tracks: TrackWriter | None
    pool: asyncpg.Pool | None
    outbox: Outbox
    clock: Callable[[], float] = time.time
    pending_arrivals: list[Arrival] = field(default_factory=list)
    pending_checkins: list[CheckIn] = field(default_factory=list)

    async def handle_pings(self, batch: Sequence[ConsumerRecord]) -> None:
        now = self.clock()
        received = datetime.fromtimestamp(now, UTC)
        units, policy, rules = self.units, self.policy, self.policy.rules
        outcomes: Counter[str] = Counter()
        rejects: list[tuple[ConsumerRecord, str, str]] = []
        rows: list[Row] = []
        changed: dict[str, UnitTrack] = {}
        sample = 0
        for record in batch:
            try:
                wire = decode_wire(record.value)
            except DecodeError as error:
                outcomes["schema"] += 1
                rejects.append((record, "schema", str(error)))
                continue
            fix = to_fix(wire)
            unit = units.get(fix.unit_id)
            outcome = check(fix, unit, now, rules)
            outcomes[outcome] += 1
            if outcome is Outcome.accepted and unit is not None:
                restored = unit_status.regain_contact(unit)
                unit.move_to(fix, now)
                rows.append(
                    (
                        fix.unit_id,
                        wire.ts,
                        fix.lat,
                        fix.lon,
                        fix.speed_kmh,
                        fix.heading_deg,
                        fix.accuracy_m,
                        received,
                    )
                )
                sample += 1
                if sample & 7 == 0:
                    PING_DELAY.observe(max(now - fix.ts, 0.0))
                arrival = detect(unit, fix, policy.arrival_radius_m)
                if arrival is not None:
                    self.pending_arrivals.append(arrival)
                checkin = observe(
                    unit, fix, self.checkpoints.get(unit.platform_id, []), policy.checkin_dwell_s
                )
                if checkin is not None:
                    self.pending_checkins.append(checkin)
                if unit.status is UnitStatus.returning:
                    self._back_at_base(unit, now)
                if restored or arrival is not None or due(unit, now, policy.publish):
                    changed[unit.unit_id] = unit
            elif outcome is Outcome.out_of_order:
                rows.append(
                    (
                        fix.unit_id,
                        wire.ts,
                        fix.lat,
                        fix.lon,
                        fix.speed_kmh,
                        fix.heading_deg,
                        fix.accuracy_m,
                        received,
                    )
                )
            elif outcome in REJECTIONS:
                rejects.append((record, outcome.value, f"{outcome.value}: unit {fix.unit_id}"))
        await self._record()
        await self._publish(changed.values(), now)
        if rejects:
            await asyncio.gather(*(self.dead_letter(r, reason, d) for r, reason, d in rejects))
        if self.tracks is not None:
            self.tracks.offer(rows)
        for outcome_name, count in outcomes.items():
            PINGS.labels(outcome_name).inc(count)

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

    async def _publish(self, units: Iterable[UnitTrack], now: float) -> None:
        futures = []
        for unit in units:
            futures.append(await self.publish_state(unit.unit_id, encode_state(unit)))
            mark_published(unit, now)
        if futures:
            await asyncio.gather(*futures)
            STATES_PUBLISHED.inc(len(futures))

    async def sweep(self) -> None:
        """Silent units become lost_contact; returning units time out to available; the
        status gauge is refreshed."""
        now = self.clock()
        changed = []
        by_status: Counter[str] = Counter()
        for unit in self.units.values():
            if unit_status.fall_silent(unit, now, self.policy.silence_s):
                LOST_CONTACT.inc()
                log.info("unit_lost_contact", unit_id=unit.unit_id)
                changed.append(unit)
            elif unit.status is UnitStatus.returning and self._back_at_base(unit, now):
                changed.append(unit)
            if unit.has_fix:
                by_status[unit.status] += 1
        for status_name in UnitStatus:
            UNITS_BY_STATUS.labels(status_name.value).set(by_status.get(status_name, 0))
        await self._publish(changed, now)
