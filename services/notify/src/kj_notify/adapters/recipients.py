"""SQL for the registry of taxi drivers and volunteers, and the broadcast messages owed to them."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from kj_notify.domain.nearby import Person


@dataclass(frozen=True)
class OwedBroadcast:
    broadcast_id: UUID
    recipient_id: str
    channel: str
    payload: dict[str, Any]


async def registry(pool: asyncpg.Pool) -> list[Person]:
    rows = await pool.fetch(
        "select recipient_id, kind, lat, lon from field_recipients where active "
        "order by recipient_id"
    )
    return [Person(row["recipient_id"], row["kind"], row["lat"], row["lon"]) for row in rows]


async def owe(
    connection: asyncpg.Connection,
    broadcast_id: UUID,
    people: list[Person],
    payload: dict[str, Any],
) -> int:
    """One row per (broadcast, recipient); repeats are ignored. Returns how many are new."""
    if not people:
        return 0
    result = await connection.fetch(
        "insert into broadcast_deliveries (broadcast_id, recipient_id, channel, payload) "
        "select $1, unnest($2::text[]), unnest($3::text[]), $4 "
        "on conflict (broadcast_id, recipient_id) do nothing returning recipient_id",
        broadcast_id,
        [person.recipient_id for person in people],
        [person.kind for person in people],
        payload,
    )
    return len(result)


async def claim(pool: asyncpg.Pool, limit: int, lease_s: float) -> list[OwedBroadcast]:
    rows = await pool.fetch(
        "update broadcast_deliveries set lease_until = now() + make_interval(secs => $2) "
        "where (broadcast_id, recipient_id) in (select broadcast_id, recipient_id "
        "from broadcast_deliveries where status = 'pending' "
        "and (lease_until is null or lease_until < now()) order by created_at limit $1 "
        "for update skip locked) returning broadcast_id, recipient_id, channel, payload",
        limit,
        lease_s,
    )
    return [OwedBroadcast(**dict(row)) for row in rows]


async def finish(
    connection: asyncpg.Connection, owed: OwedBroadcast, status: str, detail: str | None
) -> None:
    await connection.execute(
        "update broadcast_deliveries set status = $3, detail = $4, done_at = now() "
        "where broadcast_id = $1 and recipient_id = $2",
        owed.broadcast_id,
        owed.recipient_id,
        status,
        detail,
    )
