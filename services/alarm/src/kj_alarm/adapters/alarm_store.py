"""SQL for the alarms, their timeline and their work orders. Every function takes the
connection of the caller's transaction; none decides anything."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from kj_alarm.domain.duplicates import OpenAlarm
from kj_runtime.outbox import rows_sql as outbox_rows_sql
from kj_schemas.enums import AlarmCategory

# the two-key advisory lock namespace for the duplicate-call grid cells
MERGE_LOCK_NAMESPACE = 0x6B6A_0A1A  # "kj" alarm

_ALARM_COLUMNS = """alarm_id, region, source, source_alarm_id, body_sha256, reported_at,
    received_at, caller_phone, lat, lon, address, category, priority, description, tier,
    target_seconds, status, merged_into, callers"""


async def find_by_source(
    connection: asyncpg.Connection | asyncpg.Pool, source: str, source_alarm_id: str
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        f"select {_ALARM_COLUMNS} from alarms where source = $1 and source_alarm_id = $2",  # noqa: S608
        source,
        source_alarm_id,
    )


async def find(
    connection: asyncpg.Connection | asyncpg.Pool, alarm_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " for update" if for_update else ""
    return await connection.fetchrow(
        f"select {_ALARM_COLUMNS} from alarms where alarm_id = $1{lock}",  # noqa: S608
        alarm_id,
    )


async def begin(connection: asyncpg.Connection, cells: Sequence[int]) -> None:
    """BEGIN, and the transaction-scoped locks on duplicate-call grid cells, in one round trip
    (the simple query protocol takes both statements; the cells are our own integers). The
    cells are sorted and unnest keeps their order, so no two intakes deadlock."""
    if not cells:
        await connection.execute("begin")
        return
    listed = ",".join(str(int(c)) for c in cells)
    await connection.execute(
        f"begin; select pg_advisory_xact_lock({MERGE_LOCK_NAMESPACE}, c) "  # noqa: S608
        f"from unnest('{{{listed}}}'::int[]) as c"
    )


async def repeats_and_open_nearby(
    connection: asyncpg.Connection,
    keys: Sequence[tuple[str, str]],
    boxes: Sequence[tuple[float, float, float, float, datetime, float]],
) -> tuple[dict[tuple[str, str], dict[str, Any]], list[OpenAlarm]]:
    """In one round trip: the alarms already recorded under any of `keys` (source,
    source_alarm_id), as plain rows, and the open alarms inside any of `boxes` (min_lat,
    max_lat, min_lon, max_lon, reported_at, window_s): those reported within window_s of
    reported_at. Keys and boxes go as one JSON document each, like the rows
    `record_new_alarms` writes.

    Both halves are a lateral subquery per key or box, kept apart from the outer query by
    `offset 0`, so each is an index lookup whatever the planner believes of the table's size
    (decision 0012). The statement's plan is cached for the connection, as every other one:
    the plan made while `alarms` is still empty finds a repeat through the unique index, which
    migration 0168 made the newest index on `source` (decision 0168; the board index once won
    that tie and read every alarm of the source per key, decision 0140)."""
    rows = await connection.fetch(
        f"""select true as repeat, {_ALARM_COLUMNS}
            from jsonb_to_recordset($1::text::jsonb) as k(s text, i text)
            cross join lateral (
                select * from alarms where source = k.s and source_alarm_id = k.i
                offset 0
            ) as alarms
            union all
            select false, {_ALARM_COLUMNS}
            from jsonb_to_recordset($2::text::jsonb)
                 as b(la0 float8, la1 float8, lo0 float8, lo1 float8, t timestamptz, w float8)
            cross join lateral (  -- per box, so each is an index range scan on reported_at
                select * from alarms
                where status in ('accepted', 'assigned', 'on_scene')
                  and reported_at between b.t - make_interval(secs => b.w)
                                      and b.t + make_interval(secs => b.w)
                  and lat between b.la0 and b.la1 and lon between b.lo0 and b.lo1
                offset 0
            ) as alarms""",  # noqa: S608
        orjson.dumps([{"s": s, "i": i} for s, i in keys]).decode(),
        orjson.dumps(
            [
                {"la0": la0, "la1": la1, "lo0": lo0, "lo1": lo1, "t": t, "w": w}
                for la0, la1, lo0, lo1, t, w in boxes
            ]
        ).decode(),
    )
    repeats = {(r["source"], r["source_alarm_id"]): dict(r) for r in rows if r["repeat"]}
    nearby = {
        r["alarm_id"]: OpenAlarm(
            r["alarm_id"], r["lat"], r["lon"], r["reported_at"], AlarmCategory(r["category"])
        )
        for r in rows
        if not r["repeat"]
    }
    return repeats, list(nearby.values())


async def record_new_alarms(
    connection: asyncpg.Connection,
    alarms: Sequence[dict[str, Any]],
    entries: Sequence[tuple[UUID, str, datetime, str | None, UUID | None, dict[str, Any]]],
    outgoing: Sequence[tuple[str, bytes, bytes]],
    *,
    stream: str,
    channel: str,
) -> None:
    """The alarm rows, their timeline entries (alarm_id, kind, at, unit_id, work_order_id,
    detail) and their outbox rows (topic, key, value, in order) in one statement (one round
    trip); the relay is woken at commit. Foreign keys are checked at the end of the statement,
    when every row exists.

    The alarms and the timeline go as one JSON document each, read back with the tables' own
    row types: asyncpg encodes an array parameter element by element with type checks, which
    for 25 column arrays cost more of the service's time than the rest of the batch (decision
    0012); orjson writes the document in one call."""
    rows = [{**a, "body_sha256": "\\x" + bytes(a["body_sha256"]).hex()} for a in alarms]
    timeline = [
        {"alarm_id": a, "kind": k, "at": t, "unit_id": u, "work_order_id": w, "detail": d}
        for a, k, t, u, w, d in entries
    ]
    await connection.execute(
        _RECORD_NEW_ALARMS,
        orjson.dumps(rows, default=str).decode(),  # asyncpg's own UUIDs as text
        orjson.dumps(timeline, default=str).decode(),
        stream,
        [o[0] for o in outgoing],
        [o[1] for o in outgoing],
        [o[2] for o in outgoing],
        channel,
    )


_RECORD_NEW_ALARMS = f"""
    with alarm as (
        insert into alarms ({_ALARM_COLUMNS})
        select {_ALARM_COLUMNS} from jsonb_populate_recordset(null::alarms, $1::text::jsonb)
    ),
    timeline as (
        insert into alarm_timeline (alarm_id, kind, at, unit_id, work_order_id, detail)
        select alarm_id, kind, at, unit_id, work_order_id, coalesce(detail, '{{}}')
        from jsonb_populate_recordset(null::alarm_timeline, $2::text::jsonb)
    ),
    outgoing as ({outbox_rows_sql("$3", "$4", "$5", "$6")})
    select pg_notify($7, '')"""  # noqa: S608 - fixed column names


async def add_callers(connection: asyncpg.Connection, alarm_id: UUID, delta: int) -> int:
    return int(
        await connection.fetchval(
            "update alarms set callers = greatest(callers + $2, 1) where alarm_id = $1 "
            "returning callers",
            alarm_id,
            delta,
        )
    )


async def add_callers_many(
    connection: asyncpg.Connection, deltas: dict[UUID, int]
) -> dict[UUID, int]:
    """Add each alarm's new callers; the callers each alarm has now."""
    rows = await connection.fetch(
        """update alarms set callers = greatest(callers + d.delta, 1)
           from unnest($1::uuid[], $2::int[]) as d(id, delta)
           where alarm_id = d.id returning alarm_id, callers""",
        list(deltas),
        list(deltas.values()),
    )
    return {r["alarm_id"]: int(r["callers"]) for r in rows}


async def set_status(
    connection: asyncpg.Connection, alarm_id: UUID, status: str, *, merged_into: UUID | None = None
) -> None:
    await connection.execute(
        "update alarms set status = $2, merged_into = $3 where alarm_id = $1",
        alarm_id,
        status,
        merged_into,
    )


async def add_timeline(
    connection: asyncpg.Connection,
    entries: Sequence[tuple[UUID, str, datetime, str | None, UUID | None, dict[str, Any]]],
    *,
    event_id: UUID | None = None,
) -> None:
    """(alarm_id, kind, at, unit_id, work_order_id, detail) rows; `event_id` on the last one
    makes a consumed event's entry unique."""
    rows = [
        (a, k, at, u, w, json.dumps(d), event_id if i == len(entries) - 1 else None)
        for i, (a, k, at, u, w, d) in enumerate(entries)
    ]
    await connection.executemany(
        "insert into alarm_timeline (alarm_id, kind, at, unit_id, work_order_id, detail, "
        "event_id) values ($1, $2, $3, $4, $5, $6::text::jsonb, $7)",
        rows,
    )


async def add_timeline_once(
    connection: asyncpg.Connection,
    entries: Sequence[tuple[UUID, str, datetime, str | None, UUID | None, dict[str, Any], UUID]],
) -> int:
    """(alarm_id, kind, at, unit_id, work_order_id, detail, event_id) rows in one statement;
    a row whose event id is on the timeline already, or whose alarm is not known here, is
    skipped. Returns how many were added."""
    if not entries:
        return 0
    rows = await connection.fetch(
        "insert into alarm_timeline (alarm_id, kind, at, unit_id, work_order_id, detail, event_id) "
        "select e.alarm_id, e.kind, e.at, e.unit_id, e.work_order_id, e.detail::jsonb, e.event_id "
        "from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::uuid[], "
        "$6::text[], $7::uuid[]) "
        "as e(alarm_id, kind, at, unit_id, work_order_id, detail, event_id) "
        "where exists (select 1 from alarms a where a.alarm_id = e.alarm_id) "
        "on conflict (event_id) do nothing returning id",
        [e[0] for e in entries],
        [e[1] for e in entries],
        [e[2] for e in entries],
        [e[3] for e in entries],
        [e[4] for e in entries],
        [orjson.dumps(e[5]).decode() for e in entries],
        [e[6] for e in entries],
    )
    return len(rows)


async def timeline(connection: asyncpg.Connection | asyncpg.Pool, alarm_id: UUID) -> list[Any]:
    return list(
        await connection.fetch(
            "select kind, at, unit_id, work_order_id, detail from alarm_timeline "
            "where alarm_id = $1 order by at, id",
            alarm_id,
        )
    )


async def record_work_order(
    connection: asyncpg.Connection, work_order_id: UUID, alarm_id: UUID, unit_id: str, role: str
) -> bool:
    """True when the work order is new to the alarm service."""
    inserted = await connection.fetchval(
        "insert into alarm_work_orders (work_order_id, alarm_id, unit_id, role) "
        "values ($1, $2, $3, $4) on conflict do nothing returning true",
        work_order_id,
        alarm_id,
        unit_id,
        role,
    )
    return bool(inserted)


async def close_work_order(connection: asyncpg.Connection, work_order_id: UUID) -> None:
    await connection.execute(
        "update alarm_work_orders set open = false where work_order_id = $1", work_order_id
    )


async def work_order_alarm(
    connection: asyncpg.Connection, work_order_id: UUID
) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "select alarm_id, unit_id, role, open from alarm_work_orders where work_order_id = $1",
        work_order_id,
    )


async def open_work_orders(connection: asyncpg.Connection, alarm_id: UUID) -> int:
    return int(
        await connection.fetchval(
            "select count(*) from alarm_work_orders where alarm_id = $1 and open", alarm_id
        )
    )


async def board(
    connection: asyncpg.Connection | asyncpg.Pool,
    *,
    sources: Sequence[str],
    statuses: Sequence[str],
    since: datetime | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Any]:
    """Alarms of `sources` in `statuses` received at or after `since`, oldest first, after
    the cursor (indexes lead with the source: migration 0045)."""
    return list(
        await connection.fetch(
            f"""select {_ALARM_COLUMNS} from alarms
                where source = any($6::text[]) and status = any($1::text[])
                  and ($2::timestamptz is null or received_at >= $2)
                  and ($3::timestamptz is null or (received_at, alarm_id) > ($3, $4::uuid))
                order by received_at, alarm_id limit $5""",  # noqa: S608
            list(statuses),
            since,
            after[0] if after else None,
            after[1] if after else None,
            limit,
            list(sources),
        )
    )
