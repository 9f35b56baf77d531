"""A day's partition of `tracks` is analyzed after a million new rows, not after 50
(decision 0186): at a province's rate the default analyzed a new partition every minute of its
first hours, 130 ms of a core each time beside the calls. The partitions tracking makes carry
the setting, and the migration gives it to the ones made before."""

from datetime import date

import asyncpg

from kj_runtime.migrations import MIGRATIONS_DIR
from kj_runtime.settings import PostgresSettings
from kj_tracking.adapters.tracks import ANALYZE_AFTER_ROWS, ensure_partitions, partition_name

FAR_DAY = date(2031, 3, 14)  # no other test makes this day's partitions


async def _analyze_threshold(connection: asyncpg.Connection, name: str) -> int | None:
    """The partition's own `autovacuum_analyze_threshold`, None when it has PostgreSQL's."""
    options = await connection.fetchval(
        "select reloptions from pg_class where oid = $1::regclass", name
    )
    for option in options or []:
        key, _, value = option.partition("=")
        if key == "autovacuum_analyze_threshold":
            return int(value)
    return None


async def test_the_day_partitions_tracking_makes_wait_for_a_million_rows_to_be_analyzed(
    database: PostgresSettings,
) -> None:
    connection = await asyncpg.connect(database.dsn())
    try:
        created = await ensure_partitions(connection, FAR_DAY, days_back=0, days_ahead=1)
        assert created == [partition_name(FAR_DAY), partition_name(date(2031, 3, 15))]
        for name in created:
            assert await _analyze_threshold(connection, name) == ANALYZE_AFTER_ROWS == 1_000_000
    finally:
        await connection.close()


async def test_the_migration_gives_partitions_made_before_it_the_same_threshold(
    database: PostgresSettings,
) -> None:
    old = "tracks_20310401"
    connection = await asyncpg.connect(database.dsn())
    try:
        # a partition as tracking made them before decision 0186
        await connection.execute(
            f"create table {old} partition of tracks "
            "for values from ('2031-04-01T00:00:00Z') to ('2031-04-02T00:00:00Z')"
        )
        assert await _analyze_threshold(connection, old) is None
        migration = MIGRATIONS_DIR / "0186.tracks_analyzed_after_a_million_rows.sql"
        await connection.execute(migration.read_text())
        assert await _analyze_threshold(connection, old) == ANALYZE_AFTER_ROWS
        await connection.execute(migration.read_text())  # safe to run again
        assert await _analyze_threshold(connection, old) == ANALYZE_AFTER_ROWS
    finally:
        await connection.execute(f"drop table if exists {old}")
        await connection.close()
