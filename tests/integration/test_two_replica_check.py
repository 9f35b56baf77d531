"""The two-replica run's check (`bench/e2e_replicas.py`) finds what it is there to find: a call
the record does not carry to a unit, a unit or an alarm held twice at once, an assignment on a
timeline twice; and a unit freed and sent again in the same instant is not held twice."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.e2e_replicas import assigned_twice, lost
from kj_runtime.settings import PostgresSettings
from kj_sim.chaos.readback import read_record

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def _alarm(db: asyncpg.Connection, *, dispatch_state: str | None) -> str:
    alarm_id = uuid.uuid4()
    await db.execute(
        """insert into alarms (alarm_id, region, source, source_alarm_id, body_sha256,
               reported_at, received_at, lat, lon, category, priority, tier, target_seconds,
               status)
           values ($1, 'hunan-shaoyang', 'sy110', $2, '\\x00', $3, $3, 27.24, 111.47,
               'theft', 2, 'central_city', 180, 'accepted')""",
        alarm_id,
        f"check-{alarm_id}",
        T0,
    )
    if dispatch_state is not None:
        await db.execute(
            """insert into dispatch_alarms (alarm_id, region, priority, body, state)
               values ($1, 'hunan-shaoyang', 2, '{}', $2)""",
            alarm_id,
            dispatch_state,
        )
    return str(alarm_id)


async def _order(
    db: asyncpg.Connection,
    alarm_id: str,
    unit: asyncpg.Record,
    *,
    issued_s: float,
    closed_s: float | None = None,
) -> str:
    work_order_id = uuid.uuid4()
    issued = T0 + timedelta(seconds=issued_s)
    closed = T0 + timedelta(seconds=closed_s) if closed_s is not None else None
    await db.execute(
        """insert into work_orders (work_order_id, alarm_id, unit_id, platform_id, role, status,
               eta_seconds, reason, issued_at, accept_by, closed_at)
           values ($1, $2, $3, $4, 'primary', $5, 60, 'fastest', $6,
                   $6::timestamptz + interval '30 s', $7)""",
        work_order_id,
        uuid.UUID(alarm_id),
        unit["unit_id"],
        unit["platform_id"],
        "closed" if closed else "assigned",
        issued,
        closed,
    )
    return str(work_order_id)


def _whys(found: list[dict[str, Any]], key: str, value: str) -> set[str]:
    return {item["why"] for item in found if value in item.get(key, "")}


async def test_the_check_finds_calls_lost_and_work_held_twice(
    db: asyncpg.Connection, database: PostgresSettings
) -> None:
    units = await db.fetch("select unit_id, platform_id from units order by unit_id limit 4")
    held, first, second, freed = units
    # a unit given a second call while its first stood
    both = await _alarm(db, dispatch_state="done"), await _alarm(db, dispatch_state="assigned")
    held_first = await _order(db, both[0], held, issued_s=0, closed_s=100)
    held_second = await _order(db, both[1], held, issued_s=50)
    await db.execute(
        """insert into alarm_timeline (alarm_id, kind, at, unit_id, work_order_id, event_id)
           values ($1, 'assigned', $2, $3, $4, $5), ($1, 'assigned', $2, $3, $4, $6)""",
        uuid.UUID(both[1]),
        T0,
        held["unit_id"],
        uuid.UUID(held_second),
        uuid.uuid4(),
        uuid.uuid4(),
    )
    # an alarm given a second primary while its first stood
    doubled = await _alarm(db, dispatch_state="assigned")
    await _order(db, doubled, first, issued_s=0, closed_s=100)
    second_primary = await _order(db, doubled, second, issued_s=30)
    # a unit freed and sent again in the same instant: one after the other, never two at once
    again = await _alarm(db, dispatch_state="done"), await _alarm(db, dispatch_state="done")
    back_to_back = (
        await _order(db, again[0], freed, issued_s=0, closed_s=40),
        await _order(db, again[1], freed, issued_s=40, closed_s=90),
    )
    queued = await _alarm(db, dispatch_state="queued")
    undispatched = await _alarm(db, dispatch_state=None)
    unrecorded = str(uuid.uuid4())

    record = await read_record(database)
    missing = await lost(db, record, [*both, doubled, queued, undispatched, unrecorded])
    assert {item["alarm_id"]: item["why"] for item in missing} == {
        queued: "no_work_order (queued)",
        undispatched: "never_reached_dispatch",
        unrecorded: "no_alarm_row",
    }

    twice = await assigned_twice(db, record)
    assert _whys(twice, "work_orders", held_first) == {"unit_held_two"}
    assert _whys(twice, "work_orders", held_second) == {"unit_held_two"}
    assert _whys(twice, "work_order_id", held_second) == {"assigned_twice_on_timeline"}
    assert _whys(twice, "work_order_id", second_primary) == {"second_primary"}
    for order in back_to_back:
        assert not _whys(twice, "work_orders", order) | _whys(twice, "work_order_id", order)
