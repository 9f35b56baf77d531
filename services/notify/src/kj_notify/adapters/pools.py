"""PostgreSQL pools for notify: the work path and the outbox relay apart."""

import asyncpg

from kj_runtime.db import create_pool
from kj_runtime.settings import PostgresSettings


async def light_reset(connection: asyncpg.Connection) -> None:
    """Pool reset for the work path: only end a transaction left open. asyncpg's full reset
    (unlisten, unlock, reset all) is a round trip on every release, and so on the way from a
    committed delivery to the terminal's socket; nothing on this pool leaves session state
    (locks are transaction-scoped, LISTEN has its own connection)."""
    if connection.is_in_transaction():
        await connection.execute("rollback")


async def work_pool(settings: PostgresSettings) -> asyncpg.Pool:
    return await create_pool(settings, reset=light_reset)


async def relay_pool(settings: PostgresSettings) -> asyncpg.Pool:
    """The outbox relay holds a session advisory lock and a LISTEN: its own pool, full reset."""
    return await create_pool(settings, min_size=1, max_size=2)
