"""SQL for an alarm changed after it was accepted (decision 0115): its stored facts replaced,
and the amendments a process that did not hold the region read, kept for the region's holder
(decision 0141). Runs on a connection inside the caller's transaction."""

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from kj_schemas.alarms import AlarmAccepted


async def replace_facts(connection: asyncpg.Connection, alarm: AlarmAccepted) -> bool:
    """The alarm's body and priority as the amendment has them; False when dispatch never
    received the alarm."""
    return bool(
        await connection.fetchval(
            """update dispatch_alarms set body = $2::text::jsonb, priority = $3,
                   updated_at = now()
               where alarm_id = $1 returning true""",
            alarm.alarm_id,
            alarm.model_dump_json(),
            alarm.priority,
        )
    )


async def keep_pending(connection: asyncpg.Connection, alarm: AlarmAccepted) -> None:
    """Read by a process that does not hold the alarm's region: left for the one that does."""
    await connection.execute(
        """insert into dispatch_pending_amendments (message_id, alarm_id, region, body)
           values ($1, $2, $3, $4::text::jsonb) on conflict (message_id) do nothing""",
        alarm.message_id,
        alarm.alarm_id,
        alarm.region,
        alarm.model_dump_json(),
    )


async def take_pending(connection: asyncpg.Connection, message_id: UUID) -> bool:
    """True when the amendment was left pending (and is not any more: the caller applies it)."""
    return bool(
        await connection.fetchval(
            "delete from dispatch_pending_amendments where message_id = $1 returning true",
            message_id,
        )
    )


async def pending(connection: asyncpg.Connection, regions: Sequence[str]) -> list[AlarmAccepted]:
    """The amendments left pending for `regions`, in the order they were read."""
    rows = await connection.fetch(
        """select body::text as body from dispatch_pending_amendments
           where region = any($1::text[]) order by seq""",
        list(regions),
    )
    return [AlarmAccepted.model_validate_json(row["body"]) for row in rows]
