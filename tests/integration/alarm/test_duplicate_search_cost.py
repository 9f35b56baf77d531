"""The duplicate-call search reads the open alarms near each new one in time, not every open
alarm: on a fresh database (no planner statistics yet, as after a deployment) with thousands
of open alarms, the plan PostgreSQL caches for the pooled connection must still be an index
range scan per alarm (decision 0012: it once materialised every open alarm for each batch,
9 ms a batch, half of PostgreSQL's time under load)."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from kj_alarm.adapters.alarm_store import begin, repeats_and_open_nearby
from kj_alarm.domain.duplicates import search_box
from kj_runtime.settings import PostgresSettings
from tests.stack import admin_connection

pytestmark = pytest.mark.integration

OPEN_ALARMS = 3000
T0 = datetime(2031, 3, 1, tzinfo=UTC)


@contextlib.asynccontextmanager
async def own_database(template: PostgresSettings) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own, copied from the template, that autovacuum never analyzes."""
    name = f"{template.database}_plan_{uuid.uuid4().hex[:6]}"
    admin = await admin_connection(template)
    await admin.execute(f'create database "{name}" template "{template.database}"')
    own = template.model_copy(update={"database": name})
    connection = await asyncpg.connect(own.dsn())
    try:
        await connection.execute("alter table alarms set (autovacuum_enabled = false)")
        yield connection
    finally:
        await connection.close()
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


@pytest.fixture
async def fresh(template_database: PostgresSettings) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own, with open alarms an hour apart and no statistics gathered."""
    async with own_database(template_database) as connection:
        await connection.execute(
            """insert into alarms (alarm_id, region, source, source_alarm_id, body_sha256,
                   reported_at, received_at, lat, lon, category, priority, tier, target_seconds,
                   status)
               select gen_random_uuid(), 'r', 'sy110', 'P-' || i, '\\x00',
                      $1::timestamptz + i * interval '1 hour', now(),
                      27.1 + (i % 40) * 0.005, 111.3 + (i / 40 % 40) * 0.005, 'theft', 2,
                      'other_city', 300, 'accepted'
               from generate_series(1, $2::int) as i""",
            T0,
            OPEN_ALARMS,
        )
        yield connection


async def test_the_search_reads_only_the_open_alarms_near_in_time(
    fresh: asyncpg.Connection,
) -> None:
    batch = [(27.1 + i * 0.01, 111.3 + i * 0.01, T0 + timedelta(hours=100 + i)) for i in range(15)]
    keys = [("sy110", f"NEW-{i}") for i in range(len(batch))]
    boxes = [(*search_box(lat, lon, 200.0), at, 1800.0) for lat, lon, at in batch]
    async with fresh.transaction():
        # the plan a pooled connection settles on after its first executions
        await fresh.execute("set local plan_cache_mode = force_generic_plan")
        for _ in range(8):
            repeats, nearby = await repeats_and_open_nearby(fresh, keys, boxes)
            assert repeats == {}
            assert len(nearby) <= len(batch)
        read = await fresh.fetchval(
            "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
            "from pg_stat_xact_user_tables where relname = 'alarms'"
        )
    # 8 searches of 15 alarms each: a few rows each, never the 3,000 open alarms per search
    assert read < 8 * 15 * 5, f"{read} alarm rows read for 8 searches"


@pytest.fixture
async def empty(template_database: PostgresSettings) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own with no alarm yet and no statistics gathered: a fresh deployment."""
    async with own_database(template_database) as connection:
        yield connection


async def _intake_lookups(
    connection: asyncpg.Connection, keys: list[tuple[str, str]], boxes: list[Any]
) -> int:
    """Eight batches' lookups, each in the intake's own transaction (`begin`, one lookup, as a
    batch does); the alarm rows they read."""
    read = 0
    for _ in range(8):
        await begin(connection, [])
        try:
            await repeats_and_open_nearby(connection, keys, boxes)
            read += await connection.fetchval(
                "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
                "from pg_stat_xact_user_tables where relname = 'alarms'"
            )
        finally:
            await connection.execute("commit")
    return read


async def test_a_plan_made_while_the_table_was_empty_does_not_outlive_it(
    empty: asyncpg.Connection,
) -> None:
    """The pooled connection's first intakes meet an empty `alarms`; the plan cached then once
    found repeats through the board index (source, status, ...) and, thousands of alarms
    later, read every alarm of the source per key until autovacuum analyzed the table:
    intake fell from ~900 to ~400 alarms/s in the benchmark (decision 0140)."""
    keys = [("sy110", f"NEW-{i}") for i in range(15)]
    boxes = [(*search_box(27.1, 111.3 + i * 0.01, 200.0), T0, 1800.0) for i in range(15)]
    await _intake_lookups(empty, keys, boxes)  # the connection's first batches: empty table
    await empty.execute(
        """insert into alarms (alarm_id, region, source, source_alarm_id, body_sha256,
               reported_at, received_at, lat, lon, category, priority, tier, target_seconds,
               status)
           select gen_random_uuid(), 'r', 'sy110', 'P-' || i, '\\x00',
                  $1::timestamptz - i * interval '1 hour', now(), 27.5, 111.9, 'theft', 2,
                  'other_city', 300, 'accepted'
           from generate_series(1, $2::int) as i""",
        T0,
        OPEN_ALARMS,
    )
    read = await _intake_lookups(empty, keys, boxes)
    # 8 lookups of 15 keys that are not there: a few index entries each, never the 3,000 alarms
    assert read < 8 * 15 * 5, f"{read} alarm rows read for 8 lookups"
