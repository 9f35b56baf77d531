"""SQL for dispatchers' commands: the record of each command (its idempotency), the duty a
dispatcher set on a unit, and the open work orders of one alarm. Every function runs on a
connection inside the caller's transaction."""

from uuid import UUID

import asyncpg

from kj_dispatch.adapters.repository import order_of
from kj_dispatch.domain.workorder import OPEN, OpenOrder
from kj_schemas.commands import CommandHandled, DispatchCommand
from kj_schemas.enums import UnitDuty

_OPEN = sorted(OPEN)


async def handled_before(connection: asyncpg.Connection, command_id: UUID) -> bool:
    return bool(
        await connection.fetchval(
            "select true from dispatch_commands where command_id = $1", command_id
        )
    )


async def record(
    connection: asyncpg.Connection,
    command: DispatchCommand,
    handled: CommandHandled,
    *,
    instance: str,
) -> None:
    await connection.execute(
        """insert into dispatch_commands (command_id, kind, region, actor, outcome, reason, body,
             issued_at, handled_at, handled_by)
           values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10)""",
        command.command_id,
        str(command.command.kind),
        command.region,
        command.actor,
        str(handled.outcome),
        handled.reason,
        command.model_dump_json(),
        command.issued_at,
        handled.handled_at,
        instance,
    )


async def stood_down(connection: asyncpg.Connection | asyncpg.Pool) -> set[str]:
    """Units a dispatcher put off duty or out of service."""
    rows = await connection.fetch("select unit_id from dispatch_unit_duty where duty <> 'on_duty'")
    return {row["unit_id"] for row in rows}


async def set_duty(
    connection: asyncpg.Connection, unit_id: str, duty: UnitDuty, actor: str, command_id: UUID
) -> None:
    await connection.execute(
        """insert into dispatch_unit_duty (unit_id, duty, actor, command_id) values ($1, $2, $3, $4)
           on conflict (unit_id) do update
             set duty = $2, actor = $3, command_id = $4, set_at = now()""",
        unit_id,
        str(duty),
        actor,
        command_id,
    )


async def city_unit(connection: asyncpg.Connection, unit_id: str) -> bool:
    return bool(await connection.fetchval("select true from units where unit_id = $1", unit_id))


async def lock_alarm(connection: asyncpg.Connection, alarm_id: UUID) -> asyncpg.Record | None:
    """The alarm's dispatch row (state, region, body), locked for this transaction."""
    return await connection.fetchrow(
        "select state, region, body::text as body from dispatch_alarms where alarm_id = $1"
        " for update",
        alarm_id,
    )


async def open_orders_of(connection: asyncpg.Connection, alarm_id: UUID) -> list[OpenOrder]:
    """The alarm's open work orders, locked for this transaction."""
    rows = await connection.fetch(
        """select w.*, a.priority, a.region from work_orders w
           left join dispatch_alarms a using (alarm_id)
           where w.alarm_id = $1 and w.status = any($2::text[])
           for update of w""",
        alarm_id,
        _OPEN,
    )
    return [order_of(row) for row in rows]


async def open_order(connection: asyncpg.Connection, work_order_id: UUID) -> OpenOrder | None:
    row = await connection.fetchrow(
        """select w.*, a.priority, a.region from work_orders w
           left join dispatch_alarms a using (alarm_id)
           where w.work_order_id = $1 and w.status = any($2::text[])
           for update of w""",
        work_order_id,
        _OPEN,
    )
    return order_of(row) if row else None
