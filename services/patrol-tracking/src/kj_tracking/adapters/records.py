"""What tracking records in PostgreSQL besides tracks: the work orders it follows, arrivals
detected from GPS (with their `on_scene` event through the outbox, in one transaction), and
check-ins with the per-platform, per-shift report of checkpoints not visited."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from kj_runtime.outbox import Outbox
from kj_schemas.base import GeoPoint
from kj_schemas.enums import EventSource, WorkOrderEventKind
from kj_schemas.topics import WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrderEvent
from kj_tracking.domain.arrival import Arrival
from kj_tracking.domain.checkins import CheckIn


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def record_arrival(connection: asyncpg.Connection, outbox: Outbox, arrival: Arrival) -> bool:
    """Record the arrival and queue its `on_scene` event, once per work order ever.
    Returns False when this work order already had its arrival."""
    async with connection.transaction():
        inserted = await connection.fetchval(
            "insert into gps_arrivals (work_order_id, unit_id, arrived_at, lat, lon) "
            "values ($1, $2, $3, $4, $5) on conflict (work_order_id) do nothing "
            "returning true",
            uuid.UUID(arrival.work_order_id),
            arrival.unit_id,
            _at(arrival.at),
            arrival.lat,
            arrival.lon,
        )
        if not inserted:
            return False
        await connection.execute(
            "update tracking_work_orders set status = 'on_scene', updated_at = now() "
            "where work_order_id = $1 and status = 'open'",
            uuid.UUID(arrival.work_order_id),
        )
        event = WorkOrderEvent(
            work_order_id=uuid.UUID(arrival.work_order_id),
            unit_id=arrival.unit_id,
            kind=WorkOrderEventKind.on_scene,
            source=EventSource.gps,
            occurred_at=_at(arrival.at),
            location=GeoPoint(lat=arrival.lat, lon=arrival.lon),
            post_id=arrival.post_id,
        )
        await outbox.put(connection, WORKORDERS_EVENTS.name, arrival.unit_id, event)
    return True


async def record_checkins(connection: asyncpg.Connection, checkins: list[CheckIn]) -> None:
    await connection.executemany(
        "insert into checkins (checkpoint_id, unit_id, platform_id, arrived_at, checked_in_at) "
        "values ($1, $2, $3, $4, $5) on conflict do nothing",
        [
            (c.checkpoint_id, c.unit_id, c.platform_id, _at(c.arrived_at), _at(c.checked_in_at))
            for c in checkins
        ],
    )


@dataclass(frozen=True, slots=True)
class MissedCheckpoint:
    checkpoint_id: str
    name: str


async def checkpoints_not_visited(
    connection: asyncpg.Connection, platform_id: str, shift_start: datetime, shift_end: datetime
) -> list[MissedCheckpoint]:
    """The platform's checkpoints with no check-in during the shift [start, end)."""
    rows = await connection.fetch(
        "select cp.checkpoint_id, cp.name from checkpoints cp "
        "where cp.platform_id = $1 and not exists ("
        "  select 1 from checkins ci where ci.checkpoint_id = cp.checkpoint_id "
        "  and ci.checked_in_at >= $2 and ci.checked_in_at < $3) "
        "order by cp.checkpoint_id",
        platform_id,
        shift_start,
        shift_end,
    )
    return [MissedCheckpoint(r["checkpoint_id"], r["name"]) for r in rows]


@dataclass(slots=True)
class Followed:
    """A row of `tracking_work_orders` as a batch of work orders and events leaves it."""

    work_order_id: str
    unit_id: str
    status: str  # open | on_scene | closed
    post_id: str | None
    scene_lat: float = 0.0
    scene_lon: float = 0.0
    patrol_radius_m: float | None = None
    new: bool = False  # not in the table before the batch
    changed: bool = False  # its status changed in the batch


async def followed(
    connection: asyncpg.Connection, work_order_ids: Sequence[str], called_units: Sequence[str]
) -> list[Followed]:
    """The rows a batch can touch, in one query: its own work orders, and the posts still held
    by the units its calls take (a call supersedes the post)."""
    rows = await connection.fetch(
        "select work_order_id, unit_id, status, post_id from tracking_work_orders "
        "where work_order_id = any($1::uuid[]) "
        "or (unit_id = any($2::text[]) and post_id is not null and status <> 'closed')",
        [uuid.UUID(w) for w in work_order_ids],
        list(called_units),
    )
    return [
        Followed(str(r["work_order_id"]), r["unit_id"], r["status"], r["post_id"]) for r in rows
    ]


async def write_followed(connection: asyncpg.Connection, rows: Sequence[Followed]) -> None:
    """A batch's new and changed rows, in one transaction: new ones as the batch left them (a
    row another process wrote meanwhile is kept), changed ones never out of `closed`."""
    new = [r for r in rows if r.new]
    changed = [r for r in rows if r.changed and not r.new]
    async with connection.transaction():
        if new:
            await connection.executemany(
                "insert into tracking_work_orders (work_order_id, unit_id, scene_lat, "
                "scene_lon, status, post_id, patrol_radius_m) "
                "values ($1, $2, $3, $4, $5, $6, $7) on conflict (work_order_id) do nothing",
                [
                    (
                        uuid.UUID(r.work_order_id),
                        r.unit_id,
                        r.scene_lat,
                        r.scene_lon,
                        r.status,
                        r.post_id,
                        r.patrol_radius_m,
                    )
                    for r in new
                ],
            )
        if changed:
            await connection.executemany(
                "update tracking_work_orders set status = $2, updated_at = now() "
                "where work_order_id = $1 and status <> 'closed'",
                [(uuid.UUID(r.work_order_id), r.status) for r in changed],
            )


@dataclass(frozen=True, slots=True)
class OpenWorkOrder:
    work_order_id: str
    unit_id: str
    scene_lat: float
    scene_lon: float
    arrived: bool
    post_id: str | None = None  # a reposition's
    patrol_radius_m: float | None = None


async def open_work_orders(connection: asyncpg.Connection) -> list[OpenWorkOrder]:
    rows = await connection.fetch(
        "select w.work_order_id, w.unit_id, w.scene_lat, w.scene_lon, w.post_id, "
        "w.patrol_radius_m, (a.work_order_id is not null) as arrived from tracking_work_orders w "
        "left join gps_arrivals a using (work_order_id) where w.status <> 'closed' "
        "order by w.updated_at"
    )
    return [
        OpenWorkOrder(
            str(r["work_order_id"]),
            r["unit_id"],
            r["scene_lat"],
            r["scene_lon"],
            r["arrived"],
            r["post_id"],
            r["patrol_radius_m"],
        )
        for r in rows
    ]
