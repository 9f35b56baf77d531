"""Idempotent consumers: record a message id in the same transaction as its effect."""

from uuid import UUID

import asyncpg


async def first_time(connection: asyncpg.Connection, consumer: str, message_id: UUID) -> bool:
    """True the first time `consumer` sees `message_id`; call inside the effect's transaction."""
    inserted = await connection.fetchval(
        "insert into processed_messages (consumer, message_id) values ($1, $2) "
        "on conflict do nothing returning true",
        consumer,
        message_id,
    )
    return bool(inserted)
