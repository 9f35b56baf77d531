"""Nothing grows forever: every table has a retention decision, the prune job deletes the
mechanics rows past their retention and leaves younger rows and the alarm's record alone, and
the size query covers every table."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from kj_runtime.retention import KEPT, LONGEST_TOPIC_DAYS, RULES, RetentionSettings, prune
from kj_runtime.retention import table_sizes as sizes

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=40)
YOUNG = NOW - timedelta(days=10)


async def _tables(db: asyncpg.Connection) -> set[str]:
    rows = await db.fetch(
        """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = current_schema() and c.relkind in ('r', 'p')
             and not c.relispartition and c.relname not like '%yoyo%'"""
    )
    return {row["relname"] for row in rows}


async def test_every_table_has_a_retention_decision(db: asyncpg.Connection) -> None:
    pruned = {rule.table for rule in RULES}
    assert not pruned & set(KEPT)
    tables = await _tables(db)
    assert tables - pruned - set(KEPT) == set(), "a table with no retention decision"
    assert pruned <= tables
    assert set(await sizes(db)) == tables


def test_deduplication_outlives_every_replay() -> None:
    settings = RetentionSettings()
    for rule in RULES:
        assert getattr(settings, rule.setting) > LONGEST_TOPIC_DAYS, rule.setting
    with pytest.raises(ValueError, match="greater than"):
        RetentionSettings(processed_messages_days=7)


async def test_prune_deletes_old_mechanics_and_keeps_young_rows_and_the_record(
    db: asyncpg.Connection,
) -> None:
    consumer = f"retention-{uuid.uuid4().hex[:8]}"
    old_id, young_id = uuid.uuid4(), uuid.uuid4()
    await db.executemany(
        "insert into processed_messages (consumer, message_id, processed_at) values ($1, $2, $3)",
        [(consumer, old_id, OLD), (consumer, young_id, YOUNG)],
    )
    old_cb, young_cb, pending_cb = (uuid.uuid4() for _ in range(3))
    await db.executemany(
        """insert into callback_deliveries (message_id, source, body, source_topic,
               source_partition, source_offset, status, created_at)
           values ($1, 'sy110', '\\x00', 't', 0, 0, $2, $3)""",
        [(old_cb, "delivered", OLD), (young_cb, "delivered", YOUNG), (pending_cb, "pending", OLD)],
    )
    before = await db.fetchval("select count(*) from alarms")

    deleted = await prune(db, RetentionSettings(), now=NOW)

    assert deleted["processed_messages"] >= 1 and deleted["callback_deliveries"] >= 1
    left = {
        row["message_id"]
        for row in await db.fetch(
            "select message_id from processed_messages where consumer = $1", consumer
        )
    }
    assert left == {young_id}
    callbacks = {
        row["message_id"]
        for row in await db.fetch(
            "select message_id from callback_deliveries where message_id = any($1::uuid[])",
            [old_cb, young_cb, pending_cb],
        )
    }
    assert callbacks == {young_cb, pending_cb}  # a pending callback is never dropped
    assert await db.fetchval("select count(*) from alarms") == before
    assert await prune(db, RetentionSettings(), now=NOW) == dict.fromkeys(
        (rule.table for rule in RULES), 0
    )
