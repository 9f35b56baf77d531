"""An alarm's update or cancel read by a dispatch process that did not hold the alarm's region
(the seconds of a hand-over, a replica fenced after a pause) is not lost to the region's next
holder: it withdraws the cancelled alarm's units and re-plans a moved scene when it takes the
region over, or at its reconcile, through the same code as a live amendment (decision 0141)."""

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from kj_dispatch.bootstrap import build_dispatcher
from kj_dispatch.entrypoints.consumers import on_alarms
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.settings import DispatchSettings
from kj_runtime.db import create_pool
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.alarms import AlarmAccepted, Amendment
from kj_schemas.base import GeoPoint
from kj_schemas.codec import decode
from kj_schemas.enums import CancelReason, UnitKind, WorkOrderAction
from kj_schemas.topics import DISPATCH_WORKORDERS
from kj_schemas.workorders import WorkOrder

from .helpers import CITY, REGION, alarm, amended, east, now, unit_state

UNIT = next(u.id for u in CITY.units if u.kind is UnitKind.car)


@pytest.fixture
async def pool(database: PostgresSettings, quiet_city: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database)
    yield pool
    await pool.close()


def dispatcher(pool: asyncpg.Pool, topics: KafkaSettings, instance: str) -> Dispatcher:
    d = build_dispatcher(DispatchSettings(kafka=topics, instance=instance), pool, CITY)
    d.on_unit_state(unit_state(UNIT, east(0)))
    return d


async def orders(pool: asyncpg.Pool, alarm_id: UUID) -> list[tuple[str, str, str | None]]:
    rows = await pool.fetch(
        "select unit_id, status, withdraw_reason from work_orders where alarm_id = $1 "
        "order by issued_at",
        alarm_id,
    )
    return [(r["unit_id"], r["status"], r["withdraw_reason"]) for r in rows]


async def sent(pool: asyncpg.Pool, topics: KafkaSettings, alarm_id: UUID) -> list[WorkOrder]:
    """What dispatch's outbox holds for the units about `alarm_id` (no relay runs here)."""
    rows = await pool.fetch(
        "select value from outbox where topic = $1 order by id",
        topics.topic(DISPATCH_WORKORDERS.name),
    )
    messages = [decode(WorkOrder, r["value"]) for r in rows]
    return [m for m in messages if m.alarm_id == alarm_id]


async def assigned(pool: asyncpg.Pool, first: Dispatcher) -> AlarmAccepted:
    call = alarm(east(50))
    await first.hold_regions({REGION})
    await first.receive_alarms([call])
    await first.plan_once()
    assert await orders(pool, call.alarm_id) == [(UNIT, "assigned", None)]
    return call


async def test_a_cancel_read_during_a_hand_over_withdraws_the_unit_when_the_region_is_taken(
    pool: asyncpg.Pool, topics: KafkaSettings
) -> None:
    first, second = dispatcher(pool, topics, "a"), dispatcher(pool, topics, "b")
    call = await assigned(pool, first)
    await first.hold_regions(set())  # the group took the region away: a hand-over begins
    cancel = amended(
        call,
        amendment=Amendment(update_id="C-41", at=now(), cancelled=CancelReason.false_alarm),
    )
    await on_alarms(first, [cancel])  # read by a process that holds no lease on the region
    assert await orders(pool, call.alarm_id) == [(UNIT, "assigned", None)]  # only kept

    await second.hold_regions({REGION})  # the region's next holder

    assert await orders(pool, call.alarm_id) == [(UNIT, "withdrawn", "alarm_cancelled")]
    told = [
        m for m in await sent(pool, topics, call.alarm_id) if m.action is WorkOrderAction.withdraw
    ]
    assert [(m.unit_id, m.withdraw_reason) for m in told] == [(UNIT, "alarm_cancelled")]
    state = await pool.fetchval(
        "select state from dispatch_alarms where alarm_id = $1", call.alarm_id
    )
    assert state == "done" and second.book.alarm(call.alarm_id) is None
    await on_alarms(second, [cancel])  # the same message replayed: nothing twice
    await second.reconcile()
    assert len(await orders(pool, call.alarm_id)) == 1
    assert len(await sent(pool, topics, call.alarm_id)) == 2  # the assignment, the withdrawal


async def test_a_scene_moved_while_a_paused_replica_was_fenced_is_planned_again_by_the_holder(
    pool: asyncpg.Pool, topics: KafkaSettings
) -> None:
    first, second = dispatcher(pool, topics, "a"), dispatcher(pool, topics, "b")
    call = await assigned(pool, first)
    await second.hold_regions({REGION})  # the group moved the region while `first` was paused
    lat, lon = east(2500)
    moved = amended(
        call,
        location=GeoPoint(lat=lat, lon=lon),
        amendment=Amendment(update_id="U-41", at=now(), moved_m=2450.0, replan=True),
    )
    await on_alarms(first, [moved])  # `first` wakes up with it: fenced, it stands down
    assert first.leases == {}
    assert await orders(pool, call.alarm_id) == [(UNIT, "assigned", None)]

    await second.reconcile()  # the holder's next reconcile (or its replay of the message)
    await second.plan_once()

    assert await orders(pool, call.alarm_id) == [
        (UNIT, "withdrawn", "scene_moved"),
        (UNIT, "assigned", None),
    ]
    *_, again = await sent(pool, topics, call.alarm_id)
    assert again.action is WorkOrderAction.assign and (again.scene.lat, again.scene.lon) == (
        lat,
        lon,
    )
    await on_alarms(second, [moved])  # replayed by the holder: applied once
    await second.plan_once()
    assert len(await orders(pool, call.alarm_id)) == 2
