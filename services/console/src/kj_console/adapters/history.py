"""What the console reads from PostgreSQL: the open incidents as the alarm and dispatch services
recorded them, an incident's whole story, a unit's stored track, the notices it kept, and
broadcast deliveries. Reads other services' tables (decision 0003: a report may); never writes
them."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
import orjson

from kj_console.domain.live import Incident, OrderView, ms

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool
Mask = Callable[[str], str]
_OPEN_ORDERS = ["assigned", "accepted", "en_route", "on_scene"]
_ALARM = """a.alarm_id, a.region, a.reported_at, a.received_at, a.caller_phone, a.lat, a.lon,
    a.address, a.category, a.priority, a.description, a.tier, a.target_seconds, a.status,
    a.merged_into, a.callers, a.source"""


async def caller_phones(db: Db, alarm_ids: Sequence[UUID], mask: Mask) -> dict[UUID, str]:
    """The callers' numbers, masked, from the alarm's record: `alarms.accepted` carries none
    (issue 14), the console shows the command centre the last digits."""
    rows = await db.fetch(
        "select alarm_id, caller_phone from alarms where alarm_id = any($1::uuid[]) "
        "and caller_phone is not null",
        list(alarm_ids),
    )
    return {row["alarm_id"]: mask(row["caller_phone"]) for row in rows}


def _order(row: asyncpg.Record) -> OrderView:
    return OrderView(
        row["work_order_id"],
        row["unit_id"],
        row["platform_id"],
        row["role"],
        row["status"],
        row["eta_seconds"],
        row["reason"],
        row["issued_at"],
        row["at_risk"],
        row["runner_up_unit_id"],
        row["runner_up_eta_seconds"],
    )


def _incident(row: asyncpg.Record, mask: Mask) -> Incident:
    return Incident(
        alarm_id=row["alarm_id"],
        region=row["region"],
        category=row["category"],
        priority=row["priority"],
        tier=row["tier"],
        target_s=row["target_seconds"],
        reported_at=row["reported_at"],
        received_at=row["received_at"],
        lat=row["lat"],
        lon=row["lon"],
        address=row["address"],
        description=row["description"],
        phone=mask(row["caller_phone"]) if row["caller_phone"] else None,
        status=row["status"],
        callers=row["callers"],
        queued=row["queued_reason"] if row["dispatch_state"] == "queued" else None,
        held=row["dispatch_state"] == "held",
    )


async def open_incidents(db: Db, region: str, mask: Mask) -> list[Incident]:
    """Every open alarm of the region with its open work orders."""
    rows = await db.fetch(
        f"""select {_ALARM}, d.state as dispatch_state, d.queued_reason
            from alarms a left join dispatch_alarms d using (alarm_id)
            where a.region = $1 and a.status in ('accepted', 'assigned', 'on_scene')
            order by a.received_at""",  # noqa: S608 - fixed columns
        region,
    )
    incidents = {row["alarm_id"]: _incident(row, mask) for row in rows}
    orders = await db.fetch(
        "select * from work_orders where alarm_id = any($1::uuid[]) and status = any($2::text[])"
        " order by issued_at",
        list(incidents),
        _OPEN_ORDERS,
    )
    for order in orders:
        incidents[order["alarm_id"]].orders[order["work_order_id"]] = _order(order)
    return list(incidents.values())


async def open_alarm_ids(db: Db, region: str) -> set[UUID]:
    rows = await db.fetch(
        "select alarm_id from alarms where region = $1"
        " and status in ('accepted', 'assigned', 'on_scene')",
        region,
    )
    return {row["alarm_id"] for row in rows}


async def incidents_by_id(db: Db, alarm_ids: Sequence[UUID], mask: Mask) -> list[Incident]:
    rows = await db.fetch(
        f"""select {_ALARM}, d.state as dispatch_state, d.queued_reason
            from alarms a left join dispatch_alarms d using (alarm_id)
            where a.alarm_id = any($1::uuid[])""",  # noqa: S608 - fixed columns
        list(alarm_ids),
    )
    incidents = {row["alarm_id"]: _incident(row, mask) for row in rows}
    orders = await db.fetch(
        "select * from work_orders where alarm_id = any($1::uuid[]) and status = any($2::text[])",
        list(incidents),
        _OPEN_ORDERS,
    )
    for order in orders:
        incidents[order["alarm_id"]].orders[order["work_order_id"]] = _order(order)
    return list(incidents.values())


async def story(db: Db, alarm_id: UUID, mask: Mask) -> dict[str, Any] | None:
    """An incident's page: the alarm, its timeline as the alarm service recorded it, every
    work order (with its ETA, runner-up and reason) and the calls merged into it."""
    row = await db.fetchrow(
        f"""select {_ALARM}, d.state as dispatch_state, d.queued_reason
            from alarms a left join dispatch_alarms d using (alarm_id)
            where a.alarm_id = $1""",  # noqa: S608 - fixed columns
        alarm_id,
    )
    if row is None:
        return None
    incident = _incident(row, mask).as_json()
    incident["status"] = row["status"]
    incident["source"] = row["source"]
    incident["merged_into"] = str(row["merged_into"]) if row["merged_into"] else None
    timeline = await db.fetch(
        "select kind, at, unit_id, work_order_id, detail::text as detail from alarm_timeline"
        " where alarm_id = $1 order by at, id",
        alarm_id,
    )
    orders = await db.fetch(
        "select * from work_orders where alarm_id = $1 order by issued_at", alarm_id
    )
    merged = await db.fetch(
        "select alarm_id, reported_at, caller_phone, address from alarms where merged_into = $1"
        " order by reported_at",
        alarm_id,
    )
    return {
        "incident": incident,
        "timeline": [
            {
                "kind": t["kind"],
                "at": ms(t["at"]),
                "unit": t["unit_id"],
                "work_order": str(t["work_order_id"]) if t["work_order_id"] else None,
                "detail": orjson.loads(t["detail"]),
            }
            for t in timeline
        ],
        "orders": [
            _order(o).as_json()
            | {
                "status": o["status"],
                "accepted": _ms(o["accepted_at"]),
                "on_scene": _ms(o["on_scene_at"]),
                "closed": _ms(o["closed_at"]),
                "withdrawn": _ms(o["withdrawn_at"]),
                "withdraw_reason": o["withdraw_reason"],
                "disposition": o["disposition_code"],
                "response_seconds": o["response_seconds"],
                "target_met": o["target_met"],
            }
            for o in orders
        ],
        "merged": [
            {
                "id": str(m["alarm_id"]),
                "reported": ms(m["reported_at"]),
                "phone": mask(m["caller_phone"]) if m["caller_phone"] else None,
                "address": m["address"],
            }
            for m in merged
        ],
    }


def _ms(at: datetime | None) -> int | None:
    return ms(at) if at is not None else None


async def track(
    db: Db, unit_id: str, since: datetime, until: datetime, *, limit: int
) -> list[list[Any]]:
    """The unit's stored fixes in the window, oldest first: [epoch ms, lat, lon, speed,
    heading]."""
    rows = await db.fetch(
        """select fix_at, lat, lon, speed_kmh, heading_deg from tracks
           where unit_id = $1 and fix_at >= $2 and fix_at <= $3 order by fix_at limit $4""",
        unit_id,
        since,
        until,
        limit,
    )
    return [
        [ms(r["fix_at"]), round(r["lat"], 6), round(r["lon"], 6), r["speed_kmh"], r["heading_deg"]]
        for r in rows
    ]


async def unit_duty(db: Db) -> dict[str, str]:
    rows = await db.fetch("select unit_id, duty from dispatch_unit_duty where duty <> 'on_duty'")
    return {row["unit_id"]: row["duty"] for row in rows}


async def keep_notice(db: Db, *, message_id: UUID, kind: str, at: datetime, body: Any) -> None:
    await db.execute(
        "insert into console_notices (message_id, kind, at, body) values ($1, $2, $3,"
        " $4::text::jsonb) on conflict do nothing",
        message_id,
        kind,
        at,
        orjson.dumps(body).decode(),
    )


async def recent_notices(db: Db, *, limit: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select body::text as body from console_notices order by at desc limit $1", limit
    )
    return [orjson.loads(row["body"]) for row in rows]


async def broadcast_deliveries(db: Db, broadcast_ids: Sequence[UUID]) -> dict[str, dict[str, int]]:
    """Per broadcast: how many recipients it was owed to, delivered, failed (notify's record)."""
    rows = await db.fetch(
        """select broadcast_id, status, count(*) as n from broadcast_deliveries
           where broadcast_id = any($1::uuid[]) group by broadcast_id, status""",
        list(broadcast_ids),
    )
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        found.setdefault(str(row["broadcast_id"]), {})[row["status"]] = row["n"]
    return found
