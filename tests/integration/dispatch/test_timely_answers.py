"""An officer who accepted in time keeps the job, however late the answer reaches dispatch
(issue 14: after a 12 s broker outage, eight officers who had accepted 8 to 16 s before the
deadline were withdrawn and held back five minutes). The deadline is judged by the gateway's
receipt of the answer, against the real database."""

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from kj_dispatch.bootstrap import build_dispatcher
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.service_layer.workorder_events import handle_events
from kj_dispatch.settings import DispatchSettings
from kj_runtime.consume import ReadUpTo
from kj_runtime.db import create_pool
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.enums import EventSource, UnitKind, WorkOrderEventKind
from kj_schemas.workorders import WorkOrderEvent

from .helpers import CITY, REGION, alarm, east, unit_state

CARS = [u.id for u in CITY.units if u.kind is UnitKind.car][:2]


@pytest.fixture
async def dispatcher(
    database: PostgresSettings, topics: KafkaSettings, quiet_city: None
) -> AsyncIterator[Dispatcher]:
    pool = await create_pool(database)
    d = build_dispatcher(DispatchSettings(kafka=topics, accept_timeout_s=30), pool, CITY)
    d.on_unit_state(unit_state(CARS[0], east(0)))
    await d.hold_regions({REGION})
    yield d
    await pool.close()


async def orders_of(pool: asyncpg.Pool, alarm_id: object) -> list[asyncpg.Record]:
    return await pool.fetch(
        "select * from work_orders where alarm_id = $1 order by issued_at", alarm_id
    )


async def test_an_acceptance_received_in_time_but_late_to_dispatch_keeps_the_job(
    dispatcher: Dispatcher,
) -> None:
    call = alarm(east(50))
    await dispatcher.receive_alarms([call])
    await dispatcher.plan_once()
    (first,) = await orders_of(dispatcher.pool, call.alarm_id)
    deadline = first["accept_by"]
    real_clock = dispatcher.clock
    dispatcher.clock = lambda: real_clock() + timedelta(seconds=31)
    await dispatcher.expire_unaccepted()  # the answer is stuck on its way: the timer fires
    dispatcher.on_unit_state(unit_state(CARS[1], east(80)))  # another car is free now
    await dispatcher.plan_once()  # and takes the call, not accepted yet
    accepted = WorkOrderEvent(
        work_order_id=first["work_order_id"],
        unit_id=first["unit_id"],
        kind=WorkOrderEventKind.accepted,
        source=EventSource.terminal,
        occurred_at=deadline - timedelta(seconds=8),
        received_at=deadline - timedelta(seconds=8),  # the gateway had it 8 s before
    )
    await handle_events(dispatcher, [accepted])
    rows = await orders_of(dispatcher.pool, call.alarm_id)
    by_status = {(r["unit_id"], r["status"], r["withdraw_reason"]) for r in rows}
    assert (first["unit_id"], "withdrawn", "accept_timeout") in by_status
    assert (CARS[1], "withdrawn", "superseded_by_timely_accept") in by_status
    (back,) = [r for r in rows if r["reason"] == "restored_timely_accept"]
    assert (back["unit_id"], back["role"], back["status"]) == (
        first["unit_id"],
        "primary",
        "accepted",
    )
    assert dispatcher.book.order(back["work_order_id"]) is not None
    assert first["unit_id"] in dispatcher.fleet.units
    assert dispatcher.fleet.units[first["unit_id"]].unresponsive_until is None
    await handle_events(dispatcher, [accepted])  # the same answer again changes nothing
    assert len(await orders_of(dispatcher.pool, call.alarm_id)) == len(rows)


async def test_an_acceptance_received_after_the_deadline_does_not_bring_the_job_back(
    dispatcher: Dispatcher,
) -> None:
    call = alarm(east(50))
    await dispatcher.receive_alarms([call])
    await dispatcher.plan_once()
    (first,) = await orders_of(dispatcher.pool, call.alarm_id)
    real_clock = dispatcher.clock
    dispatcher.clock = lambda: real_clock() + timedelta(seconds=31)
    await dispatcher.expire_unaccepted()
    late = WorkOrderEvent(
        work_order_id=first["work_order_id"],
        unit_id=first["unit_id"],
        kind=WorkOrderEventKind.accepted,
        source=EventSource.terminal,
        occurred_at=first["accept_by"] + timedelta(seconds=2),
        received_at=first["accept_by"] + timedelta(seconds=2),
    )
    await handle_events(dispatcher, [late])
    rows = await orders_of(dispatcher.pool, call.alarm_id)
    assert [r["reason"] for r in rows if r["reason"] == "restored_timely_accept"] == []


async def test_no_order_is_withdrawn_for_its_deadline_before_the_answers_are_read_past_it(
    dispatcher: Dispatcher,
) -> None:
    """While workorders.events cannot be read (a broker outage), an acceptance the gateway took
    in time may be waiting there: the timer withdraws nothing until the answers are read past
    the deadline (the chaos run: 10 orders withdrawn, then restored, after a 31 s outage)."""
    dispatcher.answers_read = ReadUpTo()
    call = alarm(east(50))
    await dispatcher.receive_alarms([call])
    await dispatcher.plan_once()
    (first,) = await orders_of(dispatcher.pool, call.alarm_id)
    deadline = first["accept_by"]
    real_clock = dispatcher.clock
    dispatcher.clock = lambda: real_clock() + timedelta(seconds=60)
    assert await dispatcher.expire_unaccepted() == 0  # nothing read yet
    dispatcher.answers_read.until = (deadline - timedelta(seconds=5)).timestamp()
    assert await dispatcher.expire_unaccepted() == 0  # read up to before the deadline
    dispatcher.answers_read.until = (deadline + timedelta(seconds=1)).timestamp()
    assert await dispatcher.expire_unaccepted() == 0  # an answer may still be on its way
    (still,) = await orders_of(dispatcher.pool, call.alarm_id)
    assert still["status"] == "assigned"
    dispatcher.answers_read.until = (deadline + timedelta(seconds=3)).timestamp()
    assert await dispatcher.expire_unaccepted() == 1
    (withdrawn,) = await orders_of(dispatcher.pool, call.alarm_id)
    assert (withdrawn["status"], withdrawn["withdraw_reason"]) == ("withdrawn", "accept_timeout")
