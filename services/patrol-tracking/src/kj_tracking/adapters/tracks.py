"""Tracks in PostgreSQL: day partitions created ahead and dropped after the retention, rows
written with COPY in batches by a writer task off the hot path, and the one-unit query.

The queue between the hot path and the writer is bounded. When PostgreSQL falls behind and
the queue is full, a batch of track rows is dropped and counted
(`kj_tracking_track_rows_dropped_total`): live positions drive dispatch and never wait on the
history store (docs/decisions/0021-tracks-queue-drops-when-full.md)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import structlog
from prometheus_client import Counter

from kj_runtime.lifecycle import sleep_or_stop
from kj_tracking.adapters.ping_codec import PingWire

log = structlog.get_logger(__name__)

TRACK_ROWS = Counter("kj_tracking_track_rows_total", "Track rows written to PostgreSQL")
TRACK_DROPPED = Counter(
    "kj_tracking_track_rows_dropped_total", "Track rows dropped because the write queue was full"
)
COLUMNS = (
    "unit_id",
    "fix_at",
    "lat",
    "lon",
    "speed_kmh",
    "heading_deg",
    "accuracy_m",
    "received_at",
)
Row = tuple[str, datetime, float, float, float | None, float | None, float | None, datetime]


def track_rows(fixes: Sequence[PingWire], received: float) -> list[Row]:
    """The rows of one batch's trusted and late fixes, all received at `received`."""
    at = datetime.fromtimestamp(received, UTC)
    return [
        (f.unit_id, f.ts, f.lat, f.lon, f.speed_kmh, f.heading_deg, f.accuracy_m, at) for f in fixes
    ]


def partition_name(day: date) -> str:
    return f"tracks_{day:%Y%m%d}"


# A day's partition is analyzed after this many rows have come since its last analysis, plus
# PostgreSQL's 10% of its size (decision 0186). With the default 50, a new partition was
# analyzed every minute of its first hours at a province's rate (1,500 rows a second), 130 ms
# of a core each time, beside the calls. Its queries (one unit's fixes over a time span) have
# one index to take, with or without statistics.
ANALYZE_AFTER_ROWS = 1_000_000


async def ensure_partitions(
    connection: asyncpg.Connection, today: date, *, days_back: int = 1, days_ahead: int = 2
) -> list[str]:
    """Create the day partitions from `days_back` before to `days_ahead` after today."""
    created = []
    for offset in range(-days_back, days_ahead + 1):
        day = today + timedelta(days=offset)
        name = partition_name(day)
        exists = await connection.fetchval("select to_regclass($1)", name)
        if exists is None:
            await connection.execute(
                f"create table if not exists {name} partition of tracks "
                f"for values from ('{day.isoformat()}T00:00:00Z') "
                f"to ('{(day + timedelta(days=1)).isoformat()}T00:00:00Z') "
                f"with (autovacuum_analyze_threshold = {ANALYZE_AFTER_ROWS})"
            )
            created.append(name)
    return created


async def drop_expired_partitions(
    connection: asyncpg.Connection, today: date, retention_days: int
) -> list[str]:
    """Drop the day partitions that end before `today - retention_days`."""
    rows = await connection.fetch(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = 'tracks'::regclass"
    )
    cutoff = today - timedelta(days=retention_days)
    dropped = []
    for row in rows:
        name = row["relname"]
        try:
            day = datetime.strptime(name.removeprefix("tracks_"), "%Y%m%d").date()
        except ValueError:
            continue
        if day < cutoff:
            await connection.execute(f"drop table {name}")
            dropped.append(name)
    return dropped


@dataclass(frozen=True, slots=True)
class TrackPoint:
    fix_at: datetime
    lat: float
    lon: float
    speed_kmh: float | None


async def unit_track(
    connection: asyncpg.Connection, unit_id: str, start: datetime, end: datetime
) -> list[TrackPoint]:
    """One unit's fixes in [start, end), oldest first (one fix per time: repeats folded)."""
    rows = await connection.fetch(
        "select distinct on (fix_at) fix_at, lat, lon, speed_kmh from tracks "
        "where unit_id = $1 and fix_at >= $2 and fix_at < $3 order by fix_at",
        unit_id,
        start,
        end,
    )
    return [TrackPoint(r["fix_at"], r["lat"], r["lon"], r["speed_kmh"]) for r in rows]


class TrackWriter:
    """Takes row batches from the hot path without waiting; a task COPYs them. The queue is
    bounded in rows (batches vary from one ping to `max_batch`)."""

    def __init__(self, pool: asyncpg.Pool, *, max_rows: int = 320_000) -> None:
        self.pool = pool
        self.max_rows = max_rows
        self.queued_rows = 0
        self.queue: asyncio.Queue[list[Row]] = asyncio.Queue()

    def offer(self, rows: list[Row]) -> bool:
        if not rows:
            return True
        if self.queued_rows + len(rows) > self.max_rows:
            TRACK_DROPPED.inc(len(rows))
            return False
        self.queued_rows += len(rows)
        self.queue.put_nowait(rows)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and self.queue.empty()):
            try:
                rows = await asyncio.wait_for(self.queue.get(), timeout=0.5)
            except TimeoutError:
                continue
            taken = 1
            while not self.queue.empty() and len(rows) < 20_000:
                rows = rows + self.queue.get_nowait()
                taken += 1
            try:
                await self._write(rows, stop)
            finally:
                self.queued_rows -= len(rows)
                for _ in range(taken):
                    self.queue.task_done()

    async def _write(self, rows: list[Row], stop: asyncio.Event) -> None:
        backoff = 0.2
        for _ in range(5):
            try:
                async with self.pool.acquire() as connection:
                    await connection.copy_records_to_table("tracks", records=rows, columns=COLUMNS)
                TRACK_ROWS.inc(len(rows))
                return
            except asyncpg.exceptions.CheckViolationError as error:
                # a fix outside every partition: keep the others
                log.warning("track_rows_outside_partitions", error=str(error))
                today = datetime.now(UTC).date()
                async with self.pool.acquire() as connection:
                    await ensure_partitions(connection, today)
                rows = [r for r in rows if (today - r[1].date()).days <= 1]
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("track_write_failed", error=str(error), rows=len(rows))
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
        TRACK_DROPPED.inc(len(rows))

    async def drain(self, *, timeout_s: float = 10.0) -> None:
        """Wait until everything offered so far is written (tests, shutdown)."""
        async with asyncio.timeout(timeout_s):
            await self.queue.join()
