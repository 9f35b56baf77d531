"""SQL for the terminal deliveries table: what each unit is owed, and what it acknowledged."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from kj_notify.domain.answers import HeldOrder
from kj_schemas.enums import WorkOrderAction
from kj_schemas.workorders import WorkOrder

NEW_DELIVERY_CHANNEL = "notify_terminal_delivery"


@dataclass(frozen=True)
class Delivery:
    delivery_id: int
    unit_id: str
    work_order_id: UUID
    alarm_id: UUID
    action: str
    payload: dict[str, Any]
    issued_at: datetime
    withdrawn: bool


async def store(connection: asyncpg.Connection, order: WorkOrder, replica: str) -> Delivery | None:
    """Keep a work order for its unit; the delivery if it is new. Announces it to every replica
    (as `replica|unit_id`, so the storing replica can ignore its own announcement). An assign
    whose withdraw came first is stored already marked withdrawn."""
    payload = order.model_dump(mode="json", exclude_none=True)
    row = await connection.fetchrow(
        "insert into terminal_deliveries "
        "(unit_id, work_order_id, alarm_id, action, payload, issued_at, withdrawn_at) "
        "values ($1, $2, $3, $4, $5, $6, (select now() from terminal_deliveries "
        "where work_order_id = $2 and action = 'withdraw' and $4 = 'assign')) "
        "on conflict (work_order_id, action) do nothing "
        "returning seq, withdrawn_at is not null as withdrawn",
        order.unit_id,
        order.work_order_id,
        order.alarm_id,
        order.action.value,
        payload,
        order.issued_at,
    )
    if order.action is WorkOrderAction.withdraw:
        await connection.execute(
            "update terminal_deliveries set withdrawn_at = coalesce(withdrawn_at, now()) "
            "where work_order_id = $1 and action = 'assign' and unit_id = $2",
            order.work_order_id,
            order.unit_id,
        )
    if row is None:
        return None
    await connection.execute(
        "select pg_notify($1, $2)", NEW_DELIVERY_CHANNEL, f"{replica}|{order.unit_id}"
    )
    return Delivery(
        delivery_id=row["seq"],
        unit_id=order.unit_id,
        work_order_id=order.work_order_id,
        alarm_id=order.alarm_id,
        action=order.action.value,
        payload=payload,
        issued_at=order.issued_at,
        withdrawn=row["withdrawn"],
    )


async def unacknowledged(pool: asyncpg.Pool, unit_id: str) -> list[Delivery]:
    rows = await pool.fetch(
        "select seq, unit_id, work_order_id, alarm_id, action, payload, issued_at, "
        "withdrawn_at is not null as withdrawn from terminal_deliveries "
        "where unit_id = $1 and delivered_at is null order by seq limit 1000",
        unit_id,
    )
    return [
        Delivery(
            delivery_id=row["seq"],
            unit_id=row["unit_id"],
            work_order_id=row["work_order_id"],
            alarm_id=row["alarm_id"],
            action=row["action"],
            payload=row["payload"],
            issued_at=row["issued_at"],
            withdrawn=row["withdrawn"],
        )
        for row in rows
    ]


async def mark(
    connection: asyncpg.Connection, unit_id: str, delivery_id: int, column: str
) -> asyncpg.Record | None:
    """Set delivered_at or read_at once; returns the row the first time, None otherwise (or when
    the delivery is not this unit's)."""
    assert column in ("delivered_at", "read_at")
    extra = ", delivered_at = coalesce(delivered_at, now())" if column == "read_at" else ""
    return await connection.fetchrow(
        f"update terminal_deliveries set {column} = now(){extra} "  # noqa: S608 - fixed names
        f"where seq = $1 and unit_id = $2 and {column} is null "
        "returning seq, work_order_id, alarm_id, action, issued_at",
        delivery_id,
        unit_id,
    )


async def held(connection: asyncpg.Connection, work_order_id: UUID) -> HeldOrder | None:
    row = await connection.fetchrow(
        "select unit_id, withdrawn_at is not null as withdrawn from terminal_deliveries "
        "where work_order_id = $1 and action = 'assign'",
        work_order_id,
    )
    if row is None:
        return None
    return HeldOrder(work_order_id, row["unit_id"], row["withdrawn"])


async def backlog(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval("select count(*) from terminal_deliveries where delivered_at is null")
    )


async def on_timeline(
    connection: asyncpg.Connection,
    *,
    alarm_id: UUID,
    kind: str,
    unit_id: str,
    work_order_id: UUID,
    event_id: UUID,
    detail: dict[str, Any],
) -> None:
    """Receipts appear on the alarm's timeline when the alarm is known here."""
    await connection.execute(
        "insert into alarm_timeline (alarm_id, kind, at, unit_id, work_order_id, detail, event_id) "
        "select $1, $2, now(), $3, $4, $5, $6 where exists "
        "(select 1 from alarms where alarm_id = $1) on conflict (event_id) do nothing",
        alarm_id,
        kind,
        unit_id,
        work_order_id,
        detail,
        event_id,
    )
