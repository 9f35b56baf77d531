"""SQL for status callbacks: who wants them, and each change owed to a receiver."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from kj_runtime.consume import Inbound


@dataclass(frozen=True)
class Destination:
    source: str
    url: str
    signing_secrets: tuple[str, ...]  # the current one, then a rotated one still in force


@dataclass(frozen=True)
class OwedCallback:
    id: int
    message_id: UUID
    source: str
    body: bytes
    source_topic: str
    source_partition: int
    source_offset: int
    attempts: int


async def register(pool: asyncpg.Pool, source: str, url: str, signing_secret: str) -> None:
    await pool.execute(
        "insert into integration_callbacks (source, url, signing_secret) values ($1, $2, $3) "
        "on conflict (source) do update set url = excluded.url, "
        "signing_secret = excluded.signing_secret, previous_signing_secret = null, "
        "previous_until = null, updated_at = now()",
        source,
        url,
        signing_secret,
    )


async def destination(pool: asyncpg.Pool, source: str) -> Destination | None:
    row = await pool.fetchrow(
        "select source, url, signing_secret, "
        "case when previous_until > now() then previous_signing_secret end as previous "
        "from integration_callbacks where source = $1",
        source,
    )
    if row is None:
        return None
    secrets = (row["signing_secret"],) + ((row["previous"],) if row["previous"] else ())
    return Destination(row["source"], row["url"], secrets)


async def registered(connection: asyncpg.Connection, source: str) -> bool:
    return bool(
        await connection.fetchval(
            "select true from integration_callbacks where source = $1", source
        )
    )


async def owe(
    connection: asyncpg.Connection, message_id: UUID, source: str, record: Inbound[Any]
) -> bool:
    inserted = await connection.fetchval(
        "insert into callback_deliveries "
        "(message_id, source, body, source_topic, source_partition, source_offset) "
        "values ($1, $2, $3, $4, $5, $6) on conflict (message_id) do nothing returning true",
        message_id,
        source,
        bytes(record.value),
        record.topic,
        record.partition,
        record.offset,
    )
    return bool(inserted)


async def claim_next(pool: asyncpg.Pool, source: str, lease_s: float) -> OwedCallback | None:
    """The oldest change owed to `source` that no replica is working on, leased to the caller."""
    row = await pool.fetchrow(
        "update callback_deliveries set lease_until = now() + make_interval(secs => $2) "
        "where id = (select id from callback_deliveries where source = $1 and status = 'pending' "
        "and (lease_until is null or lease_until < now()) order by id limit 1 "
        "for update skip locked) "
        "returning id, message_id, source, body, source_topic, source_partition, source_offset, "
        "attempts",
        source,
        lease_s,
    )
    return OwedCallback(**dict(row)) if row else None


async def attempted(pool: asyncpg.Pool, callback_id: int, error: str, lease_s: float) -> None:
    """Count a failed attempt and renew the lease, so a crashed replica's rows go back soon."""
    await pool.execute(
        "update callback_deliveries set attempts = attempts + 1, last_error = $2, "
        "lease_until = now() + make_interval(secs => $3) where id = $1",
        callback_id,
        error[:500],
        lease_s,
    )


async def finish(
    connection: asyncpg.Connection, callback_id: int, status: str, error: str | None
) -> None:
    await connection.execute(
        "update callback_deliveries set status = $2, last_error = $3, "
        "attempts = attempts + case when $2 = 'delivered' then 1 else 0 end, "
        "done_at = now(), lease_until = null where id = $1",
        callback_id,
        status,
        error[:500] if error else None,
    )


async def sources_with_pending(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch(
        "select distinct source from callback_deliveries where status = 'pending'"
    )
    return [row["source"] for row in rows]
