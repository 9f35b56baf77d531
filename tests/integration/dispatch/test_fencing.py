"""The lease behind the one-writer-per-region rule, against the real database (decision 0032): a
dispatcher whose region was taken over by another since it took the lease cannot assign, queue
or withdraw for it any more, whatever its memory says; it stands down instead. A unit the
database refused stays refused until its work order ends, whatever patrol tracking says of its
position (issue 14: one refused unit was retried every ~100 ms for minutes)."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from kj_dispatch.bootstrap import build_dispatcher
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.settings import DispatchSettings
from kj_runtime.db import create_pool
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.enums import UnitKind, UnitStatus

from .helpers import CITY, REGION, alarm, east, unit_state

UNIT = next(u.id for u in CITY.units if u.kind is UnitKind.car)


@pytest.fixture
async def pool(database: PostgresSettings, quiet_city: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database)
    yield pool
    await pool.close()


def dispatcher(pool: asyncpg.Pool, topics: KafkaSettings, instance: str) -> Dispatcher:
    settings = DispatchSettings(kafka=topics, instance=instance, accept_timeout_s=1)
    d = build_dispatcher(settings, pool, CITY)
    d.on_unit_state(unit_state(UNIT, east(0)))
    return d


async def open_orders(pool: asyncpg.Pool, alarm_ids: list[object]) -> int:
    return int(
        await pool.fetchval(
            "select count(*) from work_orders where alarm_id = any($1) "
            "and status in ('assigned', 'accepted', 'en_route', 'on_scene')",
            alarm_ids,
        )
    )


async def test_a_dispatcher_whose_lease_moved_on_assigns_nothing_and_stands_down(
    pool: asyncpg.Pool, topics: KafkaSettings
) -> None:
    first, second = dispatcher(pool, topics, "a"), dispatcher(pool, topics, "b")
    await first.hold_regions({REGION})
    call = alarm(east(50))
    await first.receive_alarms([call])
    await second.hold_regions({REGION})  # the group moved the region while `first` was away
    await first.plan_once()
    assert await open_orders(pool, [call.alarm_id]) == 0
    assert first.leases == {} and first.book.alarm(call.alarm_id) is None
    await second.plan_once()
    assert await open_orders(pool, [call.alarm_id]) == 1


async def test_a_dispatcher_given_its_region_back_after_a_takeover_decides_for_it_again(
    pool: asyncpg.Pool, topics: KafkaSettings
) -> None:
    # paused past its session: the group moved the region to `second`, then, once `first`
    # rejoined, gave it back to `first` (the same partitions as before the pause)
    first, second = dispatcher(pool, topics, "a"), dispatcher(pool, topics, "b")
    await first.hold_regions({REGION})
    await second.hold_regions({REGION})
    await second.hold_regions(set())
    await first.hold_regions({REGION})
    call = alarm(east(50))
    await first.receive_alarms([call])
    await first.plan_once()
    assert await open_orders(pool, [call.alarm_id]) == 1
    assert REGION in first.leases


async def test_the_acceptance_timer_of_a_fenced_dispatcher_withdraws_nothing(
    pool: asyncpg.Pool, topics: KafkaSettings
) -> None:
    first = dispatcher(pool, topics, "a")
    await first.hold_regions({REGION})
    call = alarm(east(50))
    await first.receive_alarms([call])
    await first.plan_once()
    await dispatcher(pool, topics, "b").hold_regions({REGION})
    first.clock = lambda: call.received_at.replace(year=call.received_at.year + 1)
    await first.expire_unaccepted()
    assert await open_orders(pool, [call.alarm_id]) == 1  # the new holder's timer decides
    assert first.leases == {}


async def test_a_unit_the_database_refused_stays_refused_when_its_position_changes(
    pool: asyncpg.Pool, topics: KafkaSettings
) -> None:
    first, second = dispatcher(pool, topics, "a"), dispatcher(pool, topics, "b")
    await second.hold_regions({REGION})
    held = alarm(east(50))
    await second.receive_alarms([held])
    await second.plan_once()  # the unit is second's now
    await first.hold_regions({"elsewhere"})  # another region's dispatcher, same unit nearby
    assert UNIT in first.fleet.held_elsewhere  # learned from the open work orders
    first.fleet.release(UNIT)  # as if it had not learned it
    first.leases["elsewhere"] = await pool.fetchval(
        "select epoch from dispatch_leases where region = 'elsewhere'"
    )
    mine = alarm(east(60)).model_copy(update={"region": "elsewhere"})
    await first.receive_alarms([mine])
    await first.plan_once()  # refused by the database: the unit is learned as held
    assert UNIT in first.fleet.held_elsewhere
    first.on_unit_state(unit_state(UNIT, east(70), UnitStatus.available))  # it moved
    assert not first.fleet.units[UNIT].dispatchable(held.received_at)
