"""Taking in alarm reports: a repeat answers the first result, a different body under the
same id is a conflict; a new one is classified, merged or diverted, and written with its
timeline and outgoing messages in one transaction (the outbox) before anyone is told.

Group commit (decision 0011): concurrent reports are coalesced into one transaction by an
`IntakeWriter`, and each caller is answered only after that transaction has committed. Under
load one commit (one WAL flush, four round trips) serves many alarms; alone, an alarm waits
for nobody."""

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import structlog
from prometheus_client import Histogram
from pydantic import BaseModel

from kj_alarm.adapters import alarm_store as store
from kj_alarm.domain.diversion import HOTLINE, is_diverted
from kj_alarm.domain.duplicates import OpenAlarm, lock_cells, merge_target, search_box
from kj_alarm.domain.tiers import Classification
from kj_alarm.service_layer import messages
from kj_alarm.service_layer.deps import Deps
from kj_schemas.alarms import AlarmReport
from kj_schemas.codec import encode
from kj_schemas.enums import AlarmStatus, ResponseTier
from kj_schemas.topics import ALARMS_ACCEPTED, ALARMS_DIVERTED, ALARMS_MERGED, ALARMS_STATUS

log = structlog.get_logger(__name__)

BATCH_SIZE = Histogram(
    "kj_alarm_intake_batch_size",
    "Alarm reports per intake transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


@dataclass(frozen=True)
class IntakeResult:
    alarm_id: UUID
    status: AlarmStatus  # accepted, merged or diverted
    tier: ResponseTier
    target_seconds: int
    merged_into: UUID | None
    created: bool  # False: a repeat of an alarm already taken in
    category: str


class ConflictingRepeat(Exception):
    """The same (source, source_alarm_id) was taken in before with a different body."""

    def __init__(self, alarm_id: UUID) -> None:
        super().__init__(f"alarm {alarm_id} was reported before with a different body")
        self.alarm_id = alarm_id


def body_digest(report: AlarmReport) -> bytes:
    """SHA-256 of the report's canonical JSON: key order and whitespace do not matter."""
    canonical = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


def _result_of(row: Any, *, created: bool) -> IntakeResult:
    status = AlarmStatus(row["status"])
    if status not in (AlarmStatus.merged, AlarmStatus.diverted):
        status = AlarmStatus.accepted  # assigned, on scene, closed: it was taken in for dispatch
    return IntakeResult(
        alarm_id=row["alarm_id"],
        status=status,
        tier=ResponseTier(row["tier"]),
        target_seconds=row["target_seconds"],
        merged_into=row["merged_into"],
        created=created,
        category=row["category"],
    )


def _repeat(row: Any, digest: bytes) -> IntakeResult:
    if bytes(row["body_sha256"]) != digest:
        raise ConflictingRepeat(row["alarm_id"])
    return _result_of(row, created=False)


async def take_in(report: AlarmReport, deps: Deps) -> IntakeResult:
    """The result once it is committed (or the repeat's first result); raises
    ConflictingRepeat, or the database's error when the transaction could not commit."""
    if deps.writer is None:
        deps.writer = IntakeWriter(deps)
    writer: IntakeWriter = deps.writer
    return await writer.submit(report, body_digest(report))


@dataclass
class _Pending:
    report: AlarmReport
    digest: bytes
    done: asyncio.Future[IntakeResult]
    received_at: datetime


@dataclass
class _New:
    """A new alarm of a batch, as decided before writing."""

    pending: _Pending
    row: dict[str, Any]
    tier: Classification
    callers_seen: int = 0  # for a merged alarm: the incident's callers counting this one
    timeline: list[Any] = field(default_factory=list)


class _RetryBatch(Exception):
    """A report of the batch was committed by another transaction meanwhile: write again."""


class IntakeWriter:
    """Coalesces concurrent reports into one transaction each: `writers` transactions in
    flight, each takes every report waiting (up to `max_batch`) when it starts. The same
    (source, source_alarm_id) twice at once waits for the first and answers as its repeat."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.config = deps.group_commit
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        # (source, source_alarm_id) -> the answer being written for it and its body's digest
        self._in_flight: dict[tuple[str, str], tuple[asyncio.Future[IntakeResult], bytes]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def submit(self, report: AlarmReport, digest: bytes) -> IntakeResult:
        key = (report.source, report.source_alarm_id)
        received_at = self.deps.clock()
        earlier = self._in_flight.get(key)
        if earlier is not None:
            try:
                first: IntakeResult | None = await asyncio.shield(earlier[0])
            except Exception:  # the first failed: this one tries on its own
                first = None
            if first is not None:
                if earlier[1] != digest:
                    raise ConflictingRepeat(first.alarm_id)
                return replace(first, created=False)
        done: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = (done, digest)
        try:
            self._ensure_running()
            self._queue.put_nowait(_Pending(report, digest, done, received_at))
            return await asyncio.shield(done)  # a cancelled caller leaves the batch intact
        finally:
            if self._in_flight.get(key, (None,))[0] is done:
                del self._in_flight[key]

    def _ensure_running(self) -> None:
        self._tasks = [t for t in self._tasks if not t.done()]
        while len(self._tasks) < self.config.writers:
            self._tasks.append(asyncio.create_task(self._run(), name="alarm-intake-writer"))

    async def close(self) -> None:
        """Finish what was handed in, then stop the writers."""
        waiting = [done for done, _ in self._in_flight.values()]
        if waiting:
            await asyncio.wait(waiting, timeout=30)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self.config.linger_s > 0 and self._queue.empty():
                await asyncio.sleep(self.config.linger_s)
            while len(batch) < self.config.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception as error:  # never lose the writer itself
                log.exception("intake_writer_failed")
                _fail(batch, error)

    async def _write(self, batch: list[_Pending]) -> None:
        BATCH_SIZE.observe(len(batch))
        for attempt in range(5):
            try:
                async with self.deps.pool.acquire() as connection:
                    outcomes = await _write_batch(connection, batch, self.deps)
            except _RetryBatch:
                log.info("intake_batch_retry", attempt=attempt, size=len(batch))
                continue
            except Exception as error:
                if len(batch) > 1 and not _is_infrastructure(error):
                    # one report the database refuses must not sink the others
                    for pending in batch:
                        await self._write([pending])
                    return
                _fail(batch, error)
                return
            for pending, outcome in zip(batch, outcomes, strict=True):
                if pending.done.done():
                    continue
                if isinstance(outcome, BaseException):
                    pending.done.set_exception(outcome)
                else:
                    pending.done.set_result(outcome)
            return
        _fail(batch, RuntimeError("intake batch kept colliding with concurrent writers"))


def _is_infrastructure(error: BaseException) -> bool:
    return isinstance(
        error,
        OSError
        | TimeoutError
        | asyncpg.InterfaceError
        | asyncpg.PostgresConnectionError
        | asyncpg.OperatorInterventionError
        | asyncpg.InsufficientResourcesError
        | asyncpg.TransactionRollbackError,
    )


def _fail(batch: Sequence[_Pending], error: BaseException) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(error)


async def _write_batch(
    connection: asyncpg.Connection, batch: list[_Pending], deps: Deps
) -> list[IntakeResult | BaseException]:
    """One transaction for the batch: lock the merge cells of every police alarm, read the
    repeats and the open alarms nearby, decide each report in arrival order (an alarm of the
    batch can be merged into an earlier one of the same batch), write, commit."""
    rule = deps.merge_rule
    police = [p for p in batch if not is_diverted(p.report.category)]
    cells = sorted({c for p in police for c in lock_cells(*_at(p), rule.distance_m)})
    # diverted calls are never merged, so they take no merge locks
    await store.begin(connection, cells)
    try:
        existing, nearby = await store.repeats_and_open_nearby(
            connection,
            [(p.report.source, p.report.source_alarm_id) for p in batch],
            [
                (
                    *search_box(*_at(p), rule.distance_m),
                    p.report.reported_at,
                    rule.window_s,
                )
                for p in police
            ],
        )
        outcomes, fresh = _decide(batch, existing, nearby, deps)
        if fresh:
            await _resolve_callers(connection, fresh)
            await _record(connection, fresh, deps)
        await connection.execute("commit")
    except asyncpg.UniqueViolationError as error:
        await _rollback(connection)
        if error.constraint_name == "alarms_one_per_source_id":
            raise _RetryBatch() from error
        raise
    except BaseException:
        await _rollback(connection)
        raise
    return [_result_of(o.row, created=True) if isinstance(o, _New) else o for o in outcomes]


async def _rollback(connection: asyncpg.Connection) -> None:
    if not connection.is_closed() and connection.is_in_transaction():
        await connection.execute("rollback")


def _at(pending: _Pending) -> tuple[float, float]:
    return pending.report.location.lat, pending.report.location.lon


def _decide(
    batch: list[_Pending],
    existing: dict[tuple[str, str], Any],
    nearby: list[OpenAlarm],
    deps: Deps,
) -> tuple[list[_New | IntakeResult | BaseException], list[_New]]:
    rule = deps.merge_rule
    candidates = list(nearby)
    fresh: list[_New] = []
    outcomes: list[_New | IntakeResult | BaseException] = []
    by_id: dict[UUID, _New] = {}
    tiers = iter(
        deps.classifier.classify_many(
            [_at(p) for p in batch if (p.report.source, p.report.source_alarm_id) not in existing]
        )
    )
    for pending in batch:
        report = pending.report
        found = existing.get((report.source, report.source_alarm_id))
        if found is not None:
            try:
                outcomes.append(_repeat(found, pending.digest))
            except ConflictingRepeat as conflict:
                outcomes.append(conflict)
            continue
        lat, lon = report.location.lat, report.location.lon
        tier = next(tiers)
        status, merged_into = AlarmStatus.accepted, None
        if is_diverted(report.category):
            status = AlarmStatus.diverted
        else:
            min_lat, max_lat, min_lon, max_lon = search_box(lat, lon, rule.distance_m)
            target = merge_target(
                lat=lat,
                lon=lon,
                reported_at=report.reported_at,
                category=report.category,
                # the batch's candidates are every alarm's neighbours: keep this one's
                open_alarms=[
                    c
                    for c in candidates
                    if min_lat <= c.lat <= max_lat and min_lon <= c.lon <= max_lon
                ],
                rule=rule,
            )
            if target is not None:
                status, merged_into = AlarmStatus.merged, target.alarm_id
        alarm_id = uuid4()
        row: dict[str, Any] = {
            "alarm_id": alarm_id,
            "region": deps.region,
            "source": report.source,
            "source_alarm_id": report.source_alarm_id,
            "body_sha256": pending.digest,
            "reported_at": report.reported_at,
            "received_at": pending.received_at,
            "caller_phone": report.caller_phone,
            "lat": lat,
            "lon": lon,
            "address": report.address,
            "category": str(report.category),
            "priority": report.priority,
            "description": report.description,
            "tier": str(tier.tier),
            "target_seconds": tier.target_seconds,
            "status": str(status),
            "merged_into": merged_into,
            "callers": 1,
        }
        new = _New(pending, row, tier)
        if status is AlarmStatus.accepted:  # later calls of the batch may merge into it
            candidates.append(OpenAlarm(alarm_id, lat, lon, report.reported_at, report.category))
            by_id[alarm_id] = new
        elif merged_into in by_id:
            parent = by_id[merged_into]
            parent.row["callers"] += 1
            new.callers_seen = parent.row["callers"]
        fresh.append(new)
        outcomes.append(new)
    return outcomes, fresh


async def _resolve_callers(connection: asyncpg.Connection, fresh: list[_New]) -> None:
    """Count the merged calls on open alarms already recorded (under their row locks), and
    give each merged call the incident's caller count as of that call."""
    into_recorded: dict[UUID, list[_New]] = {}
    for new in fresh:
        if new.row["status"] == AlarmStatus.merged and new.callers_seen == 0:
            into_recorded.setdefault(new.row["merged_into"], []).append(new)
    if not into_recorded:
        return
    totals = await store.add_callers_many(
        connection, {alarm_id: len(calls) for alarm_id, calls in into_recorded.items()}
    )
    for alarm_id, calls in into_recorded.items():
        for position, new in enumerate(calls, start=1):
            new.callers_seen = totals[alarm_id] - len(calls) + position


async def _record(connection: asyncpg.Connection, fresh: list[_New], deps: Deps) -> None:
    outbox = deps.outbox
    region_key = deps.region.encode()
    timeline: list[tuple[UUID, str, datetime, str | None, UUID | None, dict[str, Any]]] = []
    outgoing: list[tuple[str, bytes, bytes]] = []
    for new in fresh:
        row, tier = new.row, new.tier
        alarm_id, at = row["alarm_id"], row["received_at"]
        status = AlarmStatus(row["status"])
        classified = {
            "tier": str(tier.tier),
            "zone_id": tier.zone_id,
            "target_seconds": tier.target_seconds,
        }
        timeline.append((alarm_id, "received", at, None, None, {"source": row["source"]}))
        timeline.append((alarm_id, "classified", at, None, None, classified))
        message: BaseModel
        if status is AlarmStatus.merged:
            parent, callers = row["merged_into"], new.callers_seen
            merged = {"merged_into": str(parent), "callers": callers}
            added = {"alarm_id": str(alarm_id), "callers": callers}
            timeline.append((alarm_id, "merged", at, None, None, merged))
            timeline.append((parent, "caller_added", at, None, None, added))
            message = messages.merged(row, merged_into=parent, callers=callers)
            topic = ALARMS_MERGED.name
        elif status is AlarmStatus.diverted:
            timeline.append((alarm_id, "diverted", at, None, None, {"hotline": HOTLINE}))
            message, topic = messages.diverted(row), ALARMS_DIVERTED.name
        else:
            message, topic = messages.accepted(row), ALARMS_ACCEPTED.name
        outgoing.append((outbox.topic_prefix + topic, region_key, encode(message)))
        update = messages.status_changed(row, status, at)
        status_topic = outbox.topic_prefix + ALARMS_STATUS.name
        outgoing.append((status_topic, str(alarm_id).encode(), encode(update)))
    await store.record_new_alarms(
        connection,
        [new.row for new in fresh],
        timeline,
        outgoing,
        stream=outbox.stream,
        channel=outbox.channel,
    )
