"""SQL for the terminal deliveries table: what each unit is owed, and what it acknowledged."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from kj_notify.domain.answers import HeldOrder
from kj_schemas.workorders import WorkOrder

NEW_DELIVERY_CHANNEL = "notify_terminal_delivery"


@dataclass(frozen=True)
class Delivery:
    delivery_id: int
    unit_id: str
    work_order_id: UUID
    alarm_id: UUID | None  # None: a post's order (a reposition)
    action: str
    payload: dict[str, Any]
    issued_at: datetime
    withdrawn: bool


async def store(
    connection: asyncpg.Connection, consumer: str, orders: list[WorkOrder]
) -> list[Delivery]:
    """Keep work orders for their units, in order, skipping any message `consumer` has
    processed before (its id is recorded now, in the same statement: one round trip); returns
    the new deliveries. An assign whose withdraw came earlier is stored already marked
    withdrawn. Call `withdraw` and `announce` next, in the same transaction."""
    if not orders:
        return []
    payloads = [order.model_dump(mode="json", exclude_none=True) for order in orders]
    rows = await connection.fetch(
        "with fresh as (insert into processed_messages (consumer, message_id) "
        "select $1, unnest($9::uuid[]) on conflict do nothing returning message_id) "
        "insert into terminal_deliveries "
        "(unit_id, work_order_id, alarm_id, action, payload, issued_at, withdrawn_at) "
        "select t.unit_id, t.work_order_id, t.alarm_id, t.action, t.payload::jsonb, t.issued_at, "
        "(select now() from terminal_deliveries w where w.work_order_id = t.work_order_id "
        "and w.action = 'withdraw' and t.action in ('assign', 'reposition') limit 1) "
        "from unnest($2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], "
        "$7::timestamptz[], $8::int[], $9::uuid[]) "
        "as t(unit_id, work_order_id, alarm_id, action, payload, issued_at, ord, message_id) "
        "where t.message_id in (select message_id from fresh) order by t.ord "
        "on conflict (work_order_id, action) do nothing "  # also a repeat inside the batch
        "returning seq, work_order_id, action, withdrawn_at is not null as withdrawn",
        consumer,
        [order.unit_id for order in orders],
        [order.work_order_id for order in orders],
        [order.alarm_id for order in orders],
        [order.action.value for order in orders],
        [orjson.dumps(payload).decode() for payload in payloads],
        [order.issued_at for order in orders],
        list(range(len(orders))),
        [order.message_id for order in orders],
    )
    index = {(order.work_order_id, order.action.value): i for i, order in enumerate(orders)}
    stored: list[Delivery] = []
    for row in sorted(rows, key=lambda row: row["seq"]):
        i = index[(row["work_order_id"], row["action"])]
        order = orders[i]
        stored.append(
            Delivery(
                delivery_id=row["seq"],
                unit_id=order.unit_id,
                work_order_id=order.work_order_id,
                alarm_id=order.alarm_id,
                action=order.action.value,
                payload=payloads[i],
                issued_at=order.issued_at,
                withdrawn=row["withdrawn"],
            )
        )
    return stored


async def withdraw(connection: asyncpg.Connection, stored: list[Delivery]) -> None:
    """A newly stored withdraw marks its assign (which may have come in the same batch)."""
    withdraws = [delivery for delivery in stored if delivery.action == "withdraw"]
    if withdraws:
        await connection.execute(
            "update terminal_deliveries d set withdrawn_at = coalesce(d.withdrawn_at, now()) "
            "from unnest($1::uuid[], $2::text[]) as w(work_order_id, unit_id) "
            "where d.work_order_id = w.work_order_id and d.unit_id = w.unit_id "
            "and d.action in ('assign', 'reposition')",
            [delivery.work_order_id for delivery in withdraws],
            [delivery.unit_id for delivery in withdraws],
        )


async def announce(connection: asyncpg.Connection, stored: list[Delivery], replica: str) -> None:
    """Tell every replica, at COMMIT, which units have new deliveries (as `replica|unit_id`,
    so the storing replica can ignore its own)."""
    if stored:
        await connection.execute(
            "select pg_notify($1, x) from unnest($2::text[]) as x",
            NEW_DELIVERY_CHANNEL,
            sorted({f"{replica}|{delivery.unit_id}" for delivery in stored}),
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
    connection: asyncpg.Connection, said: list[tuple[str, int]], column: str
) -> list[asyncpg.Record]:
    """Set delivered_at (or read_at, which implies delivered) on each (unit_id, delivery_id)
    that is that unit's and not yet set; returns those rows."""
    assert column in ("delivered_at", "read_at")
    extra = ", delivered_at = coalesce(d.delivered_at, now())" if column == "read_at" else ""
    return await connection.fetch(
        f"update terminal_deliveries d set {column} = now(){extra} "  # noqa: S608 - fixed names
        "from unnest($1::text[], $2::bigint[]) as r(unit_id, seq) "
        f"where d.seq = r.seq and d.unit_id = r.unit_id and d.{column} is null "
        "returning d.seq, d.unit_id, d.work_order_id, d.alarm_id, d.action, d.issued_at",
        [unit_id for unit_id, _ in said],
        [delivery_id for _, delivery_id in said],
    )


async def mark_overdue(connection: asyncpg.Connection, limit: int = 500) -> list[asyncpg.Record]:
    """Assigns the terminal has not acknowledged within the work order's accept window, marked
    failed once (they are still sent when the terminal comes back). A withdrawn one is not owed
    an answer any more, so it is not failed."""
    return await connection.fetch(
        "update terminal_deliveries set failed_at = now() where seq in ("
        "select seq from terminal_deliveries where delivered_at is null and failed_at is null "
        "and withdrawn_at is null and action = 'assign' and issued_at + make_interval(secs => "
        "(payload->>'accept_within_seconds')::int) < now() order by issued_at limit $1 "
        "for update skip locked) "
        "returning seq, unit_id, work_order_id, alarm_id, action, "
        "payload->>'accept_within_seconds' as window_s",
        limit,
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
