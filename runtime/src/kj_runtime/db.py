"""asyncpg pool with JSON codecs, and a readiness wait with a deadline."""

import asyncio
import json
import time
from typing import Any

import asyncpg

from kj_runtime.settings import PostgresSettings


async def _init_connection(connection: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def connect(settings: PostgresSettings) -> asyncpg.Connection:
    """One connection, for tools and tests; services use the pool."""
    connection = await asyncpg.connect(settings.dsn())
    await _init_connection(connection)
    return connection


async def create_pool(settings: PostgresSettings, **overrides: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {
        "dsn": settings.dsn(),
        "min_size": settings.pool_min,
        "max_size": settings.pool_max,
        "init": _init_connection,
        "command_timeout": 30,
    }
    options.update(overrides)
    pool = await asyncpg.create_pool(**options)
    assert pool is not None
    return pool


async def light_reset(connection: asyncpg.Connection) -> None:
    """A work pool's reset: end a transaction left open (asyncpg ends it before any reset, this
    is the guard should that change). Nothing more: asyncpg's full reset (unlisten, unlock,
    reset all) is a round trip on every release, and so on every call's way through intake,
    dispatch and notify (decisions 0042, 0180)."""
    if connection.is_in_transaction():
        await connection.execute("rollback")


async def work_pool(settings: PostgresSettings, **overrides: Any) -> asyncpg.Pool:
    """A pool for work that leaves no session state behind: its locks are transaction-scoped,
    it sets nothing for the session and listens on nothing. What does (the outbox relay's
    advisory lock, LISTEN and `synchronous_commit off`) takes a `relay_pool`."""
    return await create_pool(settings, reset=light_reset, **overrides)


async def relay_pool(settings: PostgresSettings, **overrides: Any) -> asyncpg.Pool:
    """The outbox relay's own pool, with asyncpg's full reset: a connection it gives back
    leaves its session lock, its LISTEN and its `synchronous_commit off` behind, so the next
    borrower's commit is durable again."""
    options: dict[str, Any] = {"min_size": 1, "max_size": 2} | overrides
    return await create_pool(settings, **options)


async def wait_for_postgres(settings: PostgresSettings, *, deadline_s: float = 60) -> str:
    """Wait until a query is answered; returns the server version."""
    give_up = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while time.monotonic() < give_up:
        try:
            connection = await asyncpg.connect(settings.dsn(), timeout=3)
            try:
                return str(await connection.fetchval("show server_version"))
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            last_error = error
            await asyncio.sleep(0.5)
    raise TimeoutError(
        f"PostgreSQL at {settings.host}:{settings.port}/{settings.database} did not answer a "
        f"query within {deadline_s:.0f}s (last error: {type(last_error).__name__}: {last_error}); "
        "is it up? try `make up`"
    )
