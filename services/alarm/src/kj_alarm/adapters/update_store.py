"""SQL for integrations' updates and cancels: each one recorded once by (source, update_id)
with its answer, and the alarm's facts it changes. Every function takes the connection of the
caller's transaction; none decides anything."""

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from kj_alarm.domain.updates import AlarmNow


async def find_update(
    connection: asyncpg.Connection, source: str, update_id: str
) -> asyncpg.Record | None:
    """The update recorded under this id, locked against a concurrent repeat."""
    return await connection.fetchrow(
        "select alarm_id, kind, body_sha256, answer::text as answer from alarm_updates "
        "where source = $1 and update_id = $2 for update",
        source,
        update_id,
    )


async def record_update(
    connection: asyncpg.Connection,
    *,
    source: str,
    update_id: str,
    alarm_id: UUID,
    kind: str,
    digest: bytes,
    answer: dict[str, Any],
    at: datetime,
) -> None:
    await connection.execute(
        "insert into alarm_updates (source, update_id, alarm_id, kind, body_sha256, answer, "
        "received_at) values ($1, $2, $3, $4, $5, $6::text::jsonb, $7)",
        source,
        update_id,
        alarm_id,
        kind,
        digest,
        orjson.dumps(answer).decode(),
        at,
    )


async def change_alarm(connection: asyncpg.Connection, alarm_id: UUID, after: AlarmNow) -> None:
    await connection.execute(
        "update alarms set status = $2, lat = $3, lon = $4, address = $5, priority = $6, "
        "description = $7, callers = $8, tier = $9, target_seconds = $10 where alarm_id = $1",
        alarm_id,
        str(after.status),
        after.lat,
        after.lon,
        after.address,
        after.priority,
        after.description,
        after.callers,
        str(after.tier),
        after.target_seconds,
    )
