"""Dispatchers' commands (`dispatch.commands`, issue 17) applied by the dispatch process that
holds the region, under the invariant: a unit never holds two open work orders. Commands are
produced as the console sends them; work orders and answers are read back from Kafka."""

import asyncio
from datetime import timedelta

import asyncpg

from kj_schemas.commands import (
    AddBackup,
    AssignUnit,
    CloseAlarm,
    HoldAlarm,
    SetUnitDuty,
    WithdrawWorkOrder,
)
from kj_schemas.enums import UnitDuty, UnitStatus

from .conftest import Start
from .helpers import Peers, Watcher, alarm, east, now, unit_state


async def open_orders(db: asyncpg.Connection, alarm_id: object) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "select * from work_orders where alarm_id = $1 and status in "
            "('assigned', 'accepted', 'en_route', 'on_scene') order by issued_at",
            alarm_id,
        )
    )


async def test_a_dispatcher_reassigns_an_alarm_the_first_unit_is_withdrawn_the_chosen_one_sent(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P07-M1", east(200)), unit_state("SY-P07-M2", east(900)))
        theft = alarm(east(0))
        await peers.alarm(theft)
        (first,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert first.unit_id == "SY-P07-M1"
        command = await peers.command(AssignUnit(alarm_id=theft.alarm_id, unit_id="SY-P07-M2"))
        (answer,) = await watcher.wait_for(lambda: watcher.result_of(command))
        assert answer.outcome == "done" and answer.actor == "zhang_wei"
        assert answer.replaced_work_order_id == first.work_order_id
        (withdrawn,) = await watcher.wait_for(
            lambda: watcher.for_alarm(theft.alarm_id, action="withdraw")
        )
        assert withdrawn.unit_id == "SY-P07-M1"
        assert withdrawn.withdraw_reason == "reassigned_by_dispatcher"
        sent = [o for o in watcher.for_alarm(theft.alarm_id) if o.unit_id == "SY-P07-M2"]
        assert [o.work_order_id for o in sent] == [answer.work_order_id]
        assert sent[0].reason == "dispatcher_assigned" and sent[0].eta_seconds > 0
        rows = await open_orders(db, theft.alarm_id)
        assert [(r["unit_id"], r["role"]) for r in rows] == [("SY-P07-M2", "primary")]
        # the same command again (a retry): answered once, applied once
        await peers.command(command.command, command_id=command.command_id)
        again = await peers.command(AssignUnit(alarm_id=theft.alarm_id, unit_id="SY-P07-M2"))
        (repeat,) = await watcher.wait_for(lambda: watcher.result_of(again))
        assert repeat.outcome == "refused" and repeat.reason == "already_assigned"
        assert len(watcher.result_of(command)) == 1
        assert len(await open_orders(db, theft.alarm_id)) == 1


async def test_two_dispatchers_assign_one_unit_to_two_alarms_at_once_one_is_refused(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P08-C1", east(5000)))
        await peers.units(unit_state("SY-P08-M1", east(100)), unit_state("SY-P08-M2", east(-100)))
        one, two = alarm(east(0)), alarm(east(20))
        await peers.alarm(one)
        await peers.alarm(two)
        await watcher.wait_for(lambda: watcher.for_alarm(one.alarm_id))
        await watcher.wait_for(lambda: watcher.for_alarm(two.alarm_id))
        first, second = await asyncio.gather(
            peers.command(AssignUnit(alarm_id=one.alarm_id, unit_id="SY-P08-C1")),
            peers.command(AssignUnit(alarm_id=two.alarm_id, unit_id="SY-P08-C1"), actor="li_na"),
        )
        answers = [
            (await watcher.wait_for(lambda c=c: watcher.result_of(c)))[0] for c in (first, second)
        ]
        assert sorted(a.outcome for a in answers) == ["done", "refused"]
        (refused,) = [a for a in answers if a.outcome == "refused"]
        assert refused.reason == "unit_busy" and "SY-P08-C1" in (refused.detail or "")
        held = await db.fetchval(
            "select count(*) from work_orders where unit_id = 'SY-P08-C1' and status in "
            "('assigned', 'accepted', 'en_route', 'on_scene')"
        )
        assert held == 1


async def test_a_unit_put_off_duty_is_kept_out_of_the_next_assignment(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P09-M1", east(100)), unit_state("SY-P09-M2", east(1200)))
        off = await peers.command(SetUnitDuty(unit_id="SY-P09-M1", duty=UnitDuty.off_duty))
        (answer,) = await watcher.wait_for(lambda: watcher.result_of(off))
        assert answer.outcome == "done" and answer.duty == "off_duty"
        fight = alarm(east(0))
        await peers.alarm(fight)
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(fight.alarm_id))
        assert order.unit_id == "SY-P09-M2"
        manual = await peers.command(AddBackup(alarm_id=fight.alarm_id, unit_id="SY-P09-M1"))
        (refused,) = await watcher.wait_for(lambda: watcher.result_of(manual))
        assert refused.outcome == "refused" and refused.reason == "unit_not_on_duty"
        duty = await db.fetchrow("select * from dispatch_unit_duty where unit_id = 'SY-P09-M1'")
        assert duty["duty"] == "off_duty" and duty["actor"] == "zhang_wei"
        back = await peers.command(SetUnitDuty(unit_id="SY-P09-M1", duty=UnitDuty.on_duty))
        await watcher.wait_for(lambda: watcher.result_of(back))
        theft = alarm(east(10))
        await peers.alarm(theft)
        (next_order,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert next_order.unit_id == "SY-P09-M1"


async def test_a_held_alarm_waits_for_a_dispatcher_then_is_assigned_by_hand(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        robbery = alarm(east(0), priority=1)
        await peers.alarm(robbery)  # every unit is off duty: it waits in the queue
        await watcher.wait_for(lambda: watcher.notices_for(robbery.alarm_id, "shortfall"))
        hold = await peers.command(HoldAlarm(alarm_id=robbery.alarm_id))
        assert (await watcher.wait_for(lambda: watcher.result_of(hold)))[0].outcome == "done"
        await peers.units(unit_state("SY-P10-M1", east(100)), unit_state("SY-P10-M2", east(400)))
        other = alarm(east(2000))  # planned on the units now free: the held one is not
        await peers.alarm(other)
        await watcher.wait_for(lambda: watcher.for_alarm(other.alarm_id))
        assert watcher.for_alarm(robbery.alarm_id) == []
        state = await db.fetchval(
            "select state from dispatch_alarms where alarm_id = $1", robbery.alarm_id
        )
        assert state == "held"
        assign = await peers.command(AssignUnit(alarm_id=robbery.alarm_id, unit_id="SY-P10-M1"))
        (done,) = await watcher.wait_for(lambda: watcher.result_of(assign))
        assert done.outcome == "done"
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(robbery.alarm_id))
        assert order.unit_id == "SY-P10-M1" and order.role == "primary"
        release = await peers.command(HoldAlarm(alarm_id=robbery.alarm_id, hold=False))
        (refused,) = await watcher.wait_for(lambda: watcher.result_of(release))
        assert refused.reason == "alarm_not_held"


async def test_withdraw_sends_the_next_unit_and_close_stands_every_unit_down(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P11-M1", east(100)), unit_state("SY-P11-M2", east(300)))
        await peers.units(unit_state("SY-P11-C1", east(600)))
        fight = alarm(east(0))
        await peers.alarm(fight)
        (first,) = await watcher.wait_for(lambda: watcher.for_alarm(fight.alarm_id))
        pull = await peers.command(
            WithdrawWorkOrder(alarm_id=fight.alarm_id, work_order_id=first.work_order_id)
        )
        (pulled,) = await watcher.wait_for(lambda: watcher.result_of(pull))
        assert pulled.outcome == "done" and pulled.unit_id == first.unit_id
        nxt = await watcher.wait_for(
            lambda: [o for o in watcher.for_alarm(fight.alarm_id) if o.unit_id != first.unit_id]
        )
        assert nxt[0].unit_id == "SY-P11-M2"  # the machine sends the next unit, not the first
        backup = await peers.command(AddBackup(alarm_id=fight.alarm_id, unit_id="SY-P11-C1"))
        assert (await watcher.wait_for(lambda: watcher.result_of(backup)))[0].outcome == "done"
        close = await peers.command(
            CloseAlarm(alarm_id=fight.alarm_id, disposition_code="resolved")
        )
        (closed,) = await watcher.wait_for(lambda: watcher.result_of(close))
        assert closed.outcome == "done"
        stood_down = await watcher.wait_for(
            lambda: (
                [
                    o
                    for o in watcher.for_alarm(fight.alarm_id, action="withdraw")
                    if o.withdraw_reason == "closed_by_command_centre"
                ]
                if len(watcher.for_alarm(fight.alarm_id, action="withdraw")) >= 3
                else None
            )
        )
        assert {o.unit_id for o in stood_down} == {"SY-P11-M2", "SY-P11-C1"}
        assert await open_orders(db, fight.alarm_id) == []
        rows = await db.fetch(
            "select disposition_code from work_orders where alarm_id = $1 and status = 'closed'",
            fight.alarm_id,
        )
        assert [r["disposition_code"] for r in rows] == ["resolved", "resolved"]
        late = await peers.command(AddBackup(alarm_id=fight.alarm_id, unit_id="SY-P11-M1"))
        (refused,) = await watcher.wait_for(lambda: watcher.result_of(late))
        assert refused.reason == "alarm_closed"


async def test_a_command_that_arrives_too_late_is_refused_as_expired(
    start_dispatch: Start, peers: Peers, watcher: Watcher
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P12-M1", east(100), UnitStatus.available))
        stale = await peers.command(
            SetUnitDuty(unit_id="SY-P12-M1", duty=UnitDuty.out_of_service),
            issued_at=now() - timedelta(minutes=5),
        )
        (answer,) = await watcher.wait_for(lambda: watcher.result_of(stale))
        assert answer.outcome == "refused" and answer.reason == "expired"
