"""Dispatch through the real broker and database: alarms and unit states produced as the alarm
and patrol-tracking services would, work orders and notices read back from Kafka, the
invariants checked in PostgreSQL."""

import asyncio

import asyncpg

from kj_schemas.enums import (
    AlarmCategory,
    EventSource,
    ResponseTier,
    UnitStatus,
    WorkOrderEventKind,
)

from .conftest import Start
from .helpers import Peers, Watcher, alarm, east, event, unit_state


async def open_orders(db: asyncpg.Connection, alarm_id: object) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "select * from work_orders where alarm_id = $1 and status not in "
            "('withdrawn', 'rejected', 'closed') order by issued_at",
            alarm_id,
        )
    )


async def test_alarm_in_work_order_out_to_the_fastest_unit_once_even_if_replayed(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P06-M1", east(300)), unit_state("SY-P06-M2", east(1500)))
        theft = alarm(east(0))
        await peers.alarm(theft)
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert order.unit_id == "SY-P06-M1"
        assert order.reason == "closest_eta" and order.runner_up_unit_id == "SY-P06-M2"
        assert order.target_seconds == 180 and not order.at_risk
        await peers.alarm(theft)  # the same message again
        second = alarm(east(10))
        await peers.alarm(second)
        await watcher.wait_for(lambda: watcher.for_alarm(second.alarm_id))
        rows = await db.fetch("select * from work_orders where alarm_id = $1", theft.alarm_id)
        assert [r["unit_id"] for r in rows] == ["SY-P06-M1"]


async def test_on_scene_is_measured_and_closing_returns_the_unit_to_patrol(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P06-C1", east(200)))
        first = alarm(east(0))
        await peers.alarm(first)
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(first.alarm_id))
        await peers.event(event(order, WorkOrderEventKind.accepted))
        await peers.event(event(order, WorkOrderEventKind.on_scene, source=EventSource.gps))
        await _until(
            db,
            "select target_met is not null from work_orders where work_order_id = $1",
            order.work_order_id,
        )
        row = await db.fetchrow(
            "select * from work_orders where work_order_id = $1", order.work_order_id
        )
        assert row["status"] == "on_scene" and row["on_scene_source"] == "gps"
        assert 0 < row["response_seconds"] < 180 and row["target_met"]
        assert row["platform_seconds"] >= 0
        second = alarm(east(50))
        await peers.alarm(second)
        (queued,) = await watcher.wait_for(
            lambda: watcher.notices_for(second.alarm_id, "shortfall")
        )
        assert queued.reason == "all_busy"
        await peers.event(event(order, WorkOrderEventKind.closed, disposition_code="resolved"))
        (again,) = await watcher.wait_for(lambda: watcher.for_alarm(second.alarm_id))
        assert again.unit_id == "SY-P06-C1"


async def test_a_predicted_miss_tells_the_command_centre_and_sends_a_backup_from_another_platform(
    start_dispatch: Start, peers: Peers, watcher: Watcher
) -> None:
    async with start_dispatch():
        await peers.units(
            unit_state("SY-P06-M1", east(1500)),
            unit_state("SY-P06-M2", east(1600)),
            unit_state("SY-P05-M1", east(1800)),
        )
        jumper = alarm(
            east(0),
            priority=1,
            category=AlarmCategory.suicide_attempt,
            tier=ResponseTier.key_location,
            target_seconds=60,
        )
        await peers.alarm(jumper)
        orders = await watcher.wait_for(
            lambda: (
                len(watcher.for_alarm(jumper.alarm_id)) == 2 and watcher.for_alarm(jumper.alarm_id)
            )
        )  # keyed by unit: they may come back in either order
        by_role = {order.role: order for order in orders}
        primary, backup = by_role["primary"], by_role["backup"]
        assert (primary.unit_id, primary.at_risk) == ("SY-P06-M1", True)
        assert (backup.unit_id, backup.reason) == ("SY-P05-M1", "at_risk_backup")
        (told,) = await watcher.wait_for(lambda: watcher.notices_for(jumper.alarm_id, "at_risk"))
        assert told.unit_id == "SY-P06-M1" and told.reason == "best_eta_exceeds_target"


async def test_reassigns_when_the_unit_does_not_accept_in_time(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch(accept_timeout_s=1):
        await peers.units(unit_state("SY-P06-M1", east(200)), unit_state("SY-P06-M2", east(900)))
        fight = alarm(east(0))
        await peers.alarm(fight)
        await watcher.wait_for(lambda: len(watcher.for_alarm(fight.alarm_id)) == 2)
        first, second = watcher.for_alarm(fight.alarm_id)
        assert (first.unit_id, second.unit_id) == ("SY-P06-M1", "SY-P06-M2")
        (withdrawn,) = watcher.for_alarm(fight.alarm_id, "withdraw")
        assert withdrawn.unit_id == "SY-P06-M1" and withdrawn.withdraw_reason == "accept_timeout"
        (silent,) = await watcher.wait_for(
            lambda: watcher.notices_for(fight.alarm_id, "unresponsive_unit")
        )
        assert silent.unit_id == "SY-P06-M1"
        await peers.event(event(second, WorkOrderEventKind.accepted))
        rows = await db.fetch(
            "select unit_id, status from work_orders where alarm_id = $1 order by issued_at",
            fight.alarm_id,
        )
        assert rows[0]["status"] == "withdrawn"


async def test_a_rejected_work_order_goes_to_the_next_unit(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P06-M1", east(200)), unit_state("SY-P06-M2", east(700)))
        theft = alarm(east(0))
        await peers.alarm(theft)
        (first,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert first.unit_id == "SY-P06-M1"
        await peers.event(event(first, WorkOrderEventKind.rejected, reason="vehicle_fault"))
        (second,) = await watcher.wait_for(
            lambda: [o for o in watcher.for_alarm(theft.alarm_id) if o.unit_id != first.unit_id]
        )
        assert second.unit_id == "SY-P06-M2"
        status = await db.fetchval(
            "select status from work_orders where work_order_id = $1", first.work_order_id
        )
        assert status == "rejected"


async def test_an_alarm_waits_when_no_unit_is_free_and_goes_the_moment_one_is(
    start_dispatch: Start, peers: Peers, watcher: Watcher
) -> None:
    async with start_dispatch():
        robbery = alarm(east(0), priority=1, category=AlarmCategory.robbery)
        await peers.alarm(robbery)
        (shortfall,) = await watcher.wait_for(
            lambda: watcher.notices_for(robbery.alarm_id, "shortfall")
        )
        assert shortfall.reason == "all_busy"  # units nearby, none on patrol
        await peers.units(unit_state("SY-P06-M3", east(400)))
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(robbery.alarm_id))
        assert order.unit_id == "SY-P06-M3" and order.reason == "only_available"


async def test_a_waiting_alarm_another_dispatcher_took_meanwhile_is_not_assigned_again(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        robbery = alarm(east(0), priority=1, category=AlarmCategory.robbery)
        await peers.alarm(robbery)
        await watcher.wait_for(lambda: watcher.notices_for(robbery.alarm_id, "shortfall"))
        # while it waits here, another dispatcher (one that held the region a moment) sends it
        await db.execute(
            "update dispatch_alarms set state = 'assigned' where alarm_id = $1", robbery.alarm_id
        )
        await peers.units(unit_state("SY-P06-M3", east(400)))
        theft = alarm(east(50))
        await peers.alarm(theft)
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert order.unit_id == "SY-P06-M3"  # not kept for the alarm that was taken
        assert watcher.for_alarm(robbery.alarm_id) == []
        taken = await db.fetchval(
            "select count(*) from work_orders where alarm_id = $1", robbery.alarm_id
        )
        assert taken == 0


async def test_a_priority_1_alarm_preempts_a_unit_bound_for_a_priority_4_call(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P06-M1", east(100)))
        minor = alarm(east(150), priority=4, category=AlarmCategory.dispute)
        await peers.alarm(minor)
        (taken,) = await watcher.wait_for(lambda: watcher.for_alarm(minor.alarm_id))
        await peers.units(unit_state("SY-P06-M2", east(4000)))
        urgent = alarm(east(0), priority=1, category=AlarmCategory.suicide_attempt)
        await peers.alarm(urgent)
        (order, *_) = await watcher.wait_for(lambda: watcher.for_alarm(urgent.alarm_id))
        assert order.unit_id == "SY-P06-M1" and order.reason == "preempted"
        (withdrawn,) = await watcher.wait_for(lambda: watcher.for_alarm(minor.alarm_id, "withdraw"))
        assert withdrawn.work_order_id == taken.work_order_id
        assert withdrawn.withdraw_reason == "preempted"
        await watcher.wait_for(lambda: len(watcher.for_alarm(minor.alarm_id)) == 2)
        assert watcher.for_alarm(minor.alarm_id)[1].unit_id == "SY-P06-M2"
        assert watcher.notices_for(minor.alarm_id, "preempted")


async def _until(db: asyncpg.Connection, query: str, *args: object) -> None:
    async with asyncio.timeout(20):
        while not await db.fetchval(query, *args):
            await asyncio.sleep(0.05)


async def test_a_restart_in_the_middle_forgets_nothing_and_assigns_nothing_twice(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    waiting = alarm(east(0), priority=2)
    served = alarm(east(20), priority=3)
    async with start_dispatch():
        await peers.units(unit_state("SY-P06-C2", east(300), UnitStatus.available))
        await peers.alarm(served)
        (first,) = await watcher.wait_for(lambda: watcher.for_alarm(served.alarm_id))
        await peers.alarm(waiting)
        await watcher.wait_for(lambda: watcher.notices_for(waiting.alarm_id, "shortfall"))
    # down: while it is, the first order is closed and the alarm is replayed
    await peers.alarm(waiting)
    async with start_dispatch():
        await peers.event(event(first, WorkOrderEventKind.closed, disposition_code="resolved"))
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(waiting.alarm_id))
        assert order.unit_id == "SY-P06-C2"
        await asyncio.sleep(0)  # nothing more should come for either alarm
    for a in (waiting, served):
        rows = await db.fetch("select * from work_orders where alarm_id = $1", a.alarm_id)
        assert len(rows) == 1
