"""Taking in alarm reports: what becomes of each is decided in the domain
(`domain/intake_decision.py`); here each new alarm is written with its timeline and outgoing
messages in one transaction (the outbox) before anyone is told.

Group commit (decision 0011): concurrent reports are coalesced into one transaction by the
`IntakeWriter` (built by bootstrap), and each caller is answered only after that transaction
has committed. Under load one commit (one WAL flush, four round trips) serves many alarms;
alone, an alarm waits for nobody."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Histogram
from pydantic import BaseModel

from kj_alarm.adapters import alarm_store as store
from kj_alarm.domain.diversion import HOTLINE, is_diverted
from kj_alarm.domain.duplicates import lock_cells, search_box
from kj_alarm.domain.intake_decision import (
    ConflictingRepeat,
    Incoming,
    IntakeResult,
    NewAlarm,
    Outcome,
    body_digest,
    decide,
    result_of,
)
from kj_alarm.service_layer import messages
from kj_alarm.service_layer.deps import Deps
from kj_runtime.errors import UNAVAILABLE
from kj_schemas.alarms import AlarmReport
from kj_schemas.codec import encode
from kj_schemas.enums import AlarmStatus
from kj_schemas.topics import ALARMS_ACCEPTED, ALARMS_DIVERTED, ALARMS_MERGED, ALARMS_STATUS

log = structlog.get_logger(__name__)

BATCH_SIZE = Histogram(
    "kj_alarm_intake_batch_size",
    "Alarm reports per intake transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


@dataclass(slots=True)
class _Pending:
    incoming: Incoming
    done: asyncio.Future[IntakeResult]


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

    async def take_in(self, report: AlarmReport) -> IntakeResult:
        """The result once it is committed (or the repeat's first result); raises
        ConflictingRepeat, or the database's error when the transaction could not commit."""
        digest = body_digest(report)
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
            self._queue.put_nowait(_Pending(Incoming(report, digest, received_at), done))
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
                    outcomes = await _write_batch(
                        connection, [pending.incoming for pending in batch], self.deps
                    )
            except _RetryBatch:
                log.info("intake_batch_retry", attempt=attempt, size=len(batch))
                continue
            except Exception as error:
                if len(batch) > 1 and not isinstance(error, UNAVAILABLE):
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


def _fail(batch: Sequence[_Pending], error: BaseException) -> None:
    for pending in batch:
        if not pending.done.done():
            pending.done.set_exception(error)


async def _write_batch(
    connection: asyncpg.Connection, batch: list[Incoming], deps: Deps
) -> list[IntakeResult | ConflictingRepeat]:
    """One transaction for the batch: lock the merge cells of every police alarm, read the
    repeats and the open alarms nearby, decide each report in arrival order (an alarm of the
    batch can be merged into an earlier one of the same batch), write, commit."""
    rule = deps.merge_rule
    police = [i for i in batch if not is_diverted(i.report.category)]
    cells = sorted({c for i in police for c in lock_cells(*_at(i), rule.distance_m)})
    # diverted calls are never merged, so they take no merge locks
    await store.begin(connection, cells)
    try:
        recorded, nearby = await store.repeats_and_open_nearby(
            connection,
            [(i.report.source, i.report.source_alarm_id) for i in batch],
            [
                (
                    *search_box(*_at(i), rule.distance_m),
                    i.report.reported_at,
                    rule.window_s,
                )
                for i in police
            ],
        )
        decision = decide(batch, recorded, nearby, deps.classifier, rule=rule, region=deps.region)
        if decision.fresh:
            await _resolve_callers(connection, decision.fresh)
            await _record(connection, decision.fresh, deps)
        await connection.execute("commit")
        if decision.fresh:
            deps.outbox.committed()
    except asyncpg.UniqueViolationError as error:
        await _rollback(connection)
        if error.constraint_name == "alarms_one_per_source_id":
            raise _RetryBatch() from error
        raise
    except BaseException:
        await _rollback(connection)
        raise
    return [_answer(outcome) for outcome in decision.outcomes]


def _answer(outcome: Outcome) -> IntakeResult | ConflictingRepeat:
    return result_of(outcome.row, created=True) if isinstance(outcome, NewAlarm) else outcome


async def _rollback(connection: asyncpg.Connection) -> None:
    if not connection.is_closed() and connection.is_in_transaction():
        await connection.execute("rollback")


def _at(incoming: Incoming) -> tuple[float, float]:
    return incoming.report.location.lat, incoming.report.location.lon


async def _resolve_callers(connection: asyncpg.Connection, fresh: list[NewAlarm]) -> None:
    """Count the merged calls on open alarms already recorded (under their row locks), and
    give each merged call the incident's caller count as of that call."""
    into_recorded: dict[UUID, list[NewAlarm]] = {}
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


async def _record(connection: asyncpg.Connection, fresh: list[NewAlarm], deps: Deps) -> None:
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
        outgoing.append((outbox.topic(topic), region_key, encode(message)))
        update = messages.status_changed(row, status, at)
        status_topic = outbox.topic(ALARMS_STATUS.name)
        outgoing.append((status_topic, str(alarm_id).encode(), encode(update)))
    await store.record_new_alarms(
        connection,
        [new.row for new in fresh],
        timeline,
        outgoing,
        stream=outbox.stream,
        channel=outbox.channel,
    )
