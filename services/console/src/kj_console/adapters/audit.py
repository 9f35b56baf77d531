"""SQL for the console's audit (`console_audit`): every action a person took, with who, what
they asked, and the answer it got."""

from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
import orjson

from kj_schemas.commands import CommandHandled

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def record(
    db: Db,
    *,
    actor: str,
    role: str,
    action: str,
    outcome: str,
    request: dict[str, Any],
    command_id: UUID | None = None,
    alarm_id: UUID | None = None,
    unit_id: str | None = None,
    work_order_id: UUID | None = None,
    reason: str | None = None,
    detail: str | None = None,
) -> None:
    await db.execute(
        """insert into console_audit (actor, role, action, outcome, request, command_id,
             alarm_id, unit_id, work_order_id, reason, detail,
             answered_at)
           values ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $11,
             case when $4 = 'sent' then null else now() end)""",
        actor,
        role,
        action,
        outcome,
        orjson.dumps(request).decode(),
        command_id,
        alarm_id,
        unit_id,
        work_order_id,
        reason,
        detail,
    )


async def answered(db: Db, result: CommandHandled) -> bool:
    """Dispatch's answer onto the command's audit row (once: later copies change nothing)."""
    return bool(
        await db.fetchval(
            """update console_audit set outcome = $2, reason = $3, detail = $4,
                 work_order_id = coalesce($5, work_order_id), answered_at = $6
               where command_id = $1 and outcome = 'sent' returning true""",
            result.command_id,
            str(result.outcome),
            result.reason,
            result.detail,
            result.work_order_id,
            result.handled_at,
        )
    )


def _entry(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "at": int(row["at"].timestamp() * 1000),
        "actor": row["actor"],
        "role": row["role"],
        "action": row["action"],
        "outcome": row["outcome"],
        "reason": row["reason"],
        "detail": row["detail"],
        "unit": row["unit_id"],
        "alarm": str(row["alarm_id"]) if row["alarm_id"] else None,
        "command_id": str(row["command_id"]) if row["command_id"] else None,
        "request": orjson.loads(row["request"]),
    }


async def for_alarm(db: Db, alarm_id: UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select *, request::text as request from console_audit where alarm_id = $1 order by at",
        alarm_id,
    )
    return [_entry(row) for row in rows]


async def recent(db: Db, *, limit: int, before: datetime | None = None) -> list[dict[str, Any]]:
    rows = await db.fetch(
        """select *, request::text as request from console_audit
           where $2::timestamptz is null or at < $2 order by at desc limit $1""",
        limit,
        before,
    )
    return [_entry(row) for row in rows]


async def outcome_of(db: Db, command_id: UUID) -> dict[str, Any] | None:
    row = await db.fetchrow(
        "select *, request::text as request from console_audit where command_id = $1", command_id
    )
    return _entry(row) if row else None
