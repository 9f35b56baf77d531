"""SQL for an alarm changed after it was accepted (decision 0115): its stored facts replaced.
Runs on a connection inside the caller's transaction."""

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
