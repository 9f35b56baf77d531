"""The two kinds of pool every service takes from `kj_runtime.db` (decision 0180): the work
pool gives a connection back without asyncpg's full reset (a round trip on every release, on
every call's path), so what runs on it must leave no session state; the outbox relay's pool
resets fully, so the relay's `synchronous_commit off`, lock and LISTEN never reach a commit
that must be durable."""

import uuid

from kj_runtime.db import relay_pool, work_pool
from kj_runtime.settings import PostgresSettings


async def test_a_work_pool_connection_comes_back_as_it_was_left_but_never_in_a_transaction(
    database: PostgresSettings,
) -> None:
    pool = await work_pool(database, min_size=1, max_size=1)
    table = f"pool_probe_{uuid.uuid4().hex[:8]}"
    try:
        await pool.execute(f"create table {table} (n int)")
        async with pool.acquire() as connection:
            await connection.execute("set application_name to 'left-behind'")
            await connection.execute("begin")  # a transaction its borrower never ended
            await connection.execute(f"insert into {table} values (1)")
        async with pool.acquire() as connection:
            assert not connection.is_in_transaction()
            assert await connection.fetchval(f"select count(*) from {table}") == 0
            # no reset query ran on release: the session setting is still there
            assert await connection.fetchval("show application_name") == "left-behind"
    finally:
        await pool.execute(f"drop table if exists {table}")
        await pool.close()


async def test_a_relay_pool_connection_comes_back_reset(database: PostgresSettings) -> None:
    pool = await relay_pool(database, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            await connection.execute("set synchronous_commit to off")
            assert await connection.fetchval("select pg_try_advisory_lock(4242)")
        async with pool.acquire() as connection:
            assert await connection.fetchval("show synchronous_commit") == "on"
            locks = await connection.fetchval(
                "select count(*) from pg_locks"
                " where locktype = 'advisory' and pid = pg_backend_pid()"
            )
            assert locks == 0
    finally:
        await pool.close()
