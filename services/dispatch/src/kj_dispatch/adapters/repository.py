"""Dispatch's SQL: received alarms and their queue state, work orders, work-order events.
Every function runs on the caller's connection, inside the caller's transaction; the one
exception is `record_received`, a single statement that needs none (decision 0172)."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from kj_dispatch.domain.book import WAITING, DispatchState
from kj_dispatch.domain.repositions import OpenReposition
from kj_dispatch.domain.workorder import OPEN, OpenOrder
from kj_runtime.idempotency import first_time
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.enums import WorkOrderRole, WorkOrderStatus
from kj_schemas.workorders import WorkOrderEvent

_OPEN = sorted(OPEN)
# column names are only ever these, written in code: never from input
_COLUMNS = frozenset(
    """work_order_id alarm_id unit_id platform_id role status eta_seconds reason runner_up_unit_id
    runner_up_eta_seconds at_risk issued_at accept_by accepted_at en_route_at on_scene_at
    on_scene_source closed_at disposition_code withdrawn_at withdraw_reason response_seconds
    citizen_seconds
    platform_seconds target_met""".split()
)
ALARMS_CONSUMER = "dispatch.alarms"
EVENTS_CONSUMER = "dispatch.events"


async def record_received(
    connection: asyncpg.Connection, alarms: Sequence[AlarmAccepted]
) -> tuple[list[AlarmAccepted], list[AlarmAccepted]]:
    """Store the alarms not stored before, keyed by alarm id, in one statement: atomic by
    itself and one round trip on the call's path however many alarms a batch holds (decision
    0172). Returns those, and the ones stored before (a replay: after a crash, or a rebalance
    that moved the region). An alarm twice in one batch counts once."""
    first: dict[UUID, AlarmAccepted] = {}
    for alarm in alarms:
        first.setdefault(alarm.alarm_id, alarm)
    if not first:
        return [], []
    batch = list(first.values())
    rows = await connection.fetch(
        """insert into dispatch_alarms (alarm_id, region, priority, body, state)
           select alarm_id, region, priority, body::jsonb, 'pending'
             from unnest($1::uuid[], $2::text[], $3::smallint[], $4::text[])
                  as incoming(alarm_id, region, priority, body)
           on conflict (alarm_id) do nothing returning alarm_id""",
        [a.alarm_id for a in batch],
        [a.region for a in batch],
        [a.priority for a in batch],
        [a.model_dump_json() for a in batch],
    )
    stored = {row["alarm_id"] for row in rows}
    new = [a for a in batch if a.alarm_id in stored]
    return new, [a for a in batch if a.alarm_id not in stored]


async def waiting_states(
    connection: asyncpg.Connection, alarm_ids: Sequence[UUID]
) -> dict[UUID, tuple[DispatchState, str | None]]:
    """Of these alarms, the ones still waiting for a unit, with their state."""
    rows = await connection.fetch(
        """select alarm_id, state, queued_reason from dispatch_alarms
           where alarm_id = any($1::uuid[]) and state in ('pending', 'queued')""",
        list(alarm_ids),
    )
    return {r["alarm_id"]: (DispatchState(r["state"]), r["queued_reason"]) for r in rows}


async def open_alarms(
    connection: asyncpg.Connection, regions: Sequence[str]
) -> list[tuple[AlarmAccepted, DispatchState, str | None]]:
    rows = await connection.fetch(
        """select body::text as body, state, queued_reason from dispatch_alarms
           where state <> 'done' and region = any($1::text[]) order by priority, received_at""",
        list(regions),
    )
    return [
        (
            AlarmAccepted.model_validate_json(row["body"]),
            DispatchState(row["state"]),
            row["queued_reason"],
        )
        for row in rows
    ]


async def alarm_body(connection: asyncpg.Connection, alarm_id: UUID) -> AlarmAccepted | None:
    body = await connection.fetchval(
        "select body::text from dispatch_alarms where alarm_id = $1", alarm_id
    )
    return AlarmAccepted.model_validate_json(body) if body else None


async def open_work_orders(connection: asyncpg.Connection) -> list[OpenOrder]:
    """Every open work order, of every region (each with its alarm's region and priority)."""
    rows = await connection.fetch(
        """select w.*, a.priority, a.region from work_orders w
           left join dispatch_alarms a using (alarm_id)
           where w.status = any($1::text[])""",
        _OPEN,
    )
    return [order_of(row) for row in rows]


async def take_lease(connection: asyncpg.Connection, region: str, owner: str) -> int:
    """This process decides for `region` from now on: the lease's next epoch (decision 0032)."""
    return int(
        await connection.fetchval(
            """insert into dispatch_leases (region, epoch, owner) values ($1, 1, $2)
               on conflict (region) do update
                 set epoch = dispatch_leases.epoch + 1, owner = $2, taken_at = now()
               returning epoch""",
            region,
            owner,
        )
    )


async def leases_lost(connection: asyncpg.Connection, held: dict[str, int]) -> list[str]:
    """The regions of `held` (region -> epoch) whose lease moved on. Takes a share lock on the
    leases until the transaction ends, so none moves on before this one commits."""
    rows = await connection.fetch(
        "select region, epoch from dispatch_leases where region = any($1::text[]) for share",
        list(held),
    )
    now = {row["region"]: row["epoch"] for row in rows}
    return sorted(region for region, epoch in held.items() if now.get(region) != epoch)


def order_of(row: asyncpg.Record) -> OpenOrder:
    """A `work_orders` row (with its alarm's priority, when selected) as dispatch keeps it."""
    return OpenOrder(
        work_order_id=row["work_order_id"],
        alarm_id=row["alarm_id"],
        unit_id=row["unit_id"],
        platform_id=row["platform_id"],
        role=WorkOrderRole(row["role"]),
        status=WorkOrderStatus(row["status"]),
        priority=row.get("priority") or 4,
        region=row.get("region") or "",
        issued_at=row["issued_at"],
        accept_by=row["accept_by"],
        eta_s=row["eta_seconds"],
        reason=row["reason"],
        at_risk=row["at_risk"],
        runner_up_unit_id=row["runner_up_unit_id"],
        runner_up_eta_s=row["runner_up_eta_seconds"],
    )


async def set_alarm_state(
    connection: asyncpg.Connection,
    alarm_id: UUID,
    state: DispatchState,
    *,
    only_from: Iterable[DispatchState],
    reason: str | None = None,
) -> bool:
    return bool(
        await connection.fetchval(
            """update dispatch_alarms set state = $2, queued_reason = $3, updated_at = now()
               where alarm_id = $1 and state = any($4::text[]) returning true""",
            alarm_id,
            state,
            reason,
            list(only_from),
        )
    )


def _order_values(order: OpenOrder) -> tuple[Any, ...]:
    """A new order's columns, in `work_orders` insert order ($1-$13)."""
    return (
        order.work_order_id,
        order.alarm_id,
        order.unit_id,
        order.platform_id,
        order.role,
        order.status,
        order.eta_s,
        order.reason,
        order.runner_up_unit_id,
        order.runner_up_eta_s,
        order.at_risk,
        order.issued_at,
        order.accept_by,
    )


async def insert_work_order(connection: asyncpg.Connection, order: OpenOrder) -> None:
    """Raises asyncpg.UniqueViolationError when the unit (or the alarm's primary) is taken."""
    await connection.execute(
        """insert into work_orders (work_order_id, alarm_id, unit_id, platform_id, role, status,
             eta_seconds, reason, runner_up_unit_id, runner_up_eta_seconds, at_risk, issued_at,
             accept_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        *_order_values(order),
    )


async def issue_work_order(
    connection: asyncpg.Connection, order: OpenOrder, *, assigns_alarm: bool
) -> tuple[bool, bool]:
    """A call's work order in one statement (one round trip on the call's path, decision 0173):
    the unit's open reposition ends (`superseded` by the call), the order is inserted and, for
    the alarm's primary, the alarm moves from waiting to `assigned`. Returns (a reposition
    ended, the alarm moved). Raises asyncpg.UniqueViolationError when the unit (or the alarm's
    primary) is taken."""
    row = await connection.fetchrow(
        """with ended as (
               update dispatch_repositions
                  set status = 'superseded', ended_reason = 'call', ended_at = $12
                where unit_id = $3 and status = 'open' returning true
           ), moved as (
               update dispatch_alarms set state = 'assigned', queued_reason = null,
                      updated_at = now()
                where $14 and alarm_id = $2 and state = any($15::text[]) returning true
           ), inserted as (
               insert into work_orders (work_order_id, alarm_id, unit_id, platform_id, role,
                   status, eta_seconds, reason, runner_up_unit_id, runner_up_eta_seconds,
                   at_risk, issued_at, accept_by)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           )
           select exists (select from ended) as superseded, exists (select from moved) as moved""",
        *_order_values(order),
        assigns_alarm,
        list(WAITING),
    )
    return bool(row["superseded"]), bool(row["moved"])


async def units_with_open_orders(
    connection: asyncpg.Connection, unit_ids: Sequence[str]
) -> set[str]:
    rows = await connection.fetch(
        "select unit_id from work_orders where unit_id = any($1::text[]) and status = any($2)",
        list(unit_ids),
        _OPEN,
    )
    return {row["unit_id"] for row in rows}


async def withdraw(
    connection: asyncpg.Connection,
    work_order_id: UUID,
    *,
    status: WorkOrderStatus,
    reason: str | None,
    at: datetime | None,
    only_from: Iterable[WorkOrderStatus],
) -> bool:
    """Take the work order out of the open statuses (`withdrawn`, or `rejected` by its unit);
    False when it was not in one of `only_from`."""
    return bool(
        await connection.fetchval(
            """update work_orders set status = $5, withdrawn_at = $2, withdraw_reason = $3
               where work_order_id = $1 and status = any($4::text[]) returning true""",
            work_order_id,
            at,
            reason,
            sorted(only_from),
            status,
        )
    )


async def record_event(connection: asyncpg.Connection, event: WorkOrderEvent) -> bool:
    """False when this event was processed before (by any dispatch process)."""
    if not await first_time(connection, EVENTS_CONSUMER, event.message_id):
        return False
    await connection.execute(
        """insert into work_order_events
             (message_id, work_order_id, unit_id, kind, source, occurred_at)
           values ($1, $2, $3, $4, $5, $6) on conflict do nothing""",
        event.message_id,
        event.work_order_id,
        event.unit_id,
        str(event.kind),
        str(event.source),
        event.occurred_at,
    )
    return True


async def work_order_statuses(
    connection: asyncpg.Connection, work_order_ids: Sequence[UUID]
) -> dict[UUID, WorkOrderStatus]:
    rows = await connection.fetch(
        "select work_order_id, status from work_orders where work_order_id = any($1::uuid[])",
        list(work_order_ids),
    )
    return {row["work_order_id"]: WorkOrderStatus(row["status"]) for row in rows}


async def alarm_state(connection: asyncpg.Connection, alarm_id: UUID) -> DispatchState | None:
    state = await connection.fetchval(
        "select state from dispatch_alarms where alarm_id = $1", alarm_id
    )
    return DispatchState(state) if state else None


async def alarm_region(connection: asyncpg.Connection, alarm_id: UUID) -> str | None:
    region = await connection.fetchval(
        "select region from dispatch_alarms where alarm_id = $1", alarm_id
    )
    return str(region) if region is not None else None


async def restored_since(
    connection: asyncpg.Connection, alarm_id: UUID, unit_id: str, since: datetime
) -> bool:
    """The unit got this alarm's job back already, after a withdrawal at `since`."""
    return bool(
        await connection.fetchval(
            """select true from work_orders where alarm_id = $1 and unit_id = $2
               and reason = 'restored_timely_accept' and issued_at >= $3 limit 1""",
            alarm_id,
            unit_id,
            since,
        )
    )


async def open_primary(connection: asyncpg.Connection, alarm_id: UUID) -> OpenOrder | None:
    """The alarm's open primary work order, locked for this transaction."""
    row = await connection.fetchrow(
        """select w.*, a.priority, a.region from work_orders w
           left join dispatch_alarms a using (alarm_id)
           where w.alarm_id = $1 and w.role = 'primary' and w.status = any($2::text[])
           for update of w""",
        alarm_id,
        _OPEN,
    )
    return order_of(row) if row else None


async def work_order_row(connection: asyncpg.Connection, work_order_id: UUID) -> asyncpg.Record:
    return await connection.fetchrow(
        "select * from work_orders where work_order_id = $1", work_order_id
    )


async def lock_work_order(connection: asyncpg.Connection, work_order_id: UUID) -> asyncpg.Record:
    return await connection.fetchrow(
        "select * from work_orders where work_order_id = $1 for update", work_order_id
    )


async def update_work_order(
    connection: asyncpg.Connection, work_order_id: UUID, **values: Any
) -> None:
    if not _COLUMNS.issuperset(values):
        raise ValueError(f"unknown work order columns {sorted(set(values) - _COLUMNS)}")
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    await connection.execute(
        f"update work_orders set {sets} where work_order_id = $1",  # noqa: S608 - fixed columns
        work_order_id,
        *values.values(),
    )


async def insert_reposition(connection: asyncpg.Connection, r: OpenReposition) -> None:
    """Raises asyncpg.UniqueViolationError when the unit has an open reposition already."""
    await connection.execute(
        """insert into dispatch_repositions (work_order_id, unit_id, platform_id, post_id,
             region, lat, lon, reason, issued_at, status)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open')""",
        r.work_order_id,
        r.unit_id,
        r.platform_id,
        r.post_id,
        r.region,
        r.lat,
        r.lon,
        r.reason,
        r.issued_at,
    )


async def insert_repositions(
    connection: asyncpg.Connection, repositions: Sequence[OpenReposition]
) -> None:
    """Many at once, one round trip (a shift's plan posts every unit on duty). Raises
    asyncpg.UniqueViolationError when a unit has an open reposition already."""
    if not repositions:
        return
    await connection.execute(
        """insert into dispatch_repositions (work_order_id, unit_id, platform_id, post_id,
             region, lat, lon, reason, issued_at, status)
           select r.*, 'open'
           from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::float8[], $7::float8[], $8::text[], $9::timestamptz[]) as r""",
        [r.work_order_id for r in repositions],
        [r.unit_id for r in repositions],
        [r.platform_id for r in repositions],
        [r.post_id for r in repositions],
        [r.region for r in repositions],
        [r.lat for r in repositions],
        [r.lon for r in repositions],
        [r.reason for r in repositions],
        [r.issued_at for r in repositions],
    )


async def end_repositions(
    connection: asyncpg.Connection,
    ends: Sequence[tuple[str, str]],
    *,
    status: str,
    at: datetime,
) -> None:
    """The open repositions of many units end at once, each (unit id, why), one round trip."""
    if not ends:
        return
    await connection.execute(
        """update dispatch_repositions as d
           set status = $3, ended_reason = e.why, ended_at = $4
           from unnest($1::text[], $2::text[]) as e(unit_id, why)
           where d.unit_id = e.unit_id and d.status = 'open'""",
        [unit for unit, _ in ends],
        [why for _, why in ends],
        status,
        at,
    )


async def end_reposition(
    connection: asyncpg.Connection, unit_id: str, *, status: str, why: str, at: datetime
) -> UUID | None:
    """The unit's open reposition ends (`superseded` by a call, or `withdrawn`); its id, or None
    when it had none open."""
    found = await connection.fetchval(
        """update dispatch_repositions set status = $2, ended_reason = $3, ended_at = $4
           where unit_id = $1 and status = 'open' returning work_order_id""",
        unit_id,
        status,
        why,
        at,
    )
    return found if isinstance(found, UUID) else None


async def reposition_reached(
    connection: asyncpg.Connection, work_order_id: UUID, at: datetime
) -> None:
    await connection.execute(
        "update dispatch_repositions set reached_at = coalesce(reached_at, $2) "
        "where work_order_id = $1",
        work_order_id,
        at,
    )


async def open_repositions(
    connection: asyncpg.Connection, regions: Sequence[str]
) -> list[OpenReposition]:
    rows = await connection.fetch(
        """select work_order_id, unit_id, platform_id, post_id, lat, lon, region, reason, issued_at
           from dispatch_repositions where status = 'open' and region = any($1::text[])""",
        list(regions),
    )
    return [OpenReposition(**dict(row)) for row in rows]


async def recent_calls(
    connection: asyncpg.Connection, regions: Sequence[str], since: datetime
) -> list[tuple[float, float, str, datetime]]:
    """The calls dispatch received since `since`: (lat, lon, tier, received at), for the
    positioning planner's call rates."""
    rows = await connection.fetch(
        """select (body->'location'->>'lat')::float as lat, (body->'location'->>'lon')::float
             as lon, body->>'tier' as tier, received_at
           from dispatch_alarms where region = any($1::text[]) and received_at >= $2""",
        list(regions),
        since,
    )
    return [(r["lat"], r["lon"], r["tier"], r["received_at"]) for r in rows]
