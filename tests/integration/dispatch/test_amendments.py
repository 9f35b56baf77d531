"""An alarm changed after it was accepted (issue 19, decision 0115), as the alarm service sends it
again on `alarms.accepted` with its amendment: a scene that moved beyond the set distance is
planned again and the unit gets the new place; a cancel withdraws every unit and tells it; a
small change only replaces the facts; a repeated amendment changes nothing twice."""

import asyncio

import asyncpg

from kj_schemas.alarms import Amendment
from kj_schemas.base import GeoPoint
from kj_schemas.commands import AddBackup
from kj_schemas.enums import CancelReason, UnitStatus

from .conftest import Start
from .helpers import Peers, Watcher, alarm, amended, east, now, unit_state


async def test_a_scene_moved_across_town_is_planned_again_and_the_unit_gets_the_new_place(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P13-M1", east(150)))
        theft = alarm(east(0))
        await peers.alarm(theft)
        (first,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert first.unit_id == "SY-P13-M1"
        lat, lon = east(2500)
        moved = amended(
            theft,
            location=GeoPoint(lat=lat, lon=lon),
            priority=1,
            amendment=Amendment(update_id="U-1", at=now(), moved_m=2500.0, replan=True),
        )
        await peers.alarm(moved)
        await peers.alarm(moved)  # a repeat (the outbox's at-least-once): applied once
        (withdrawn,) = await watcher.wait_for(
            lambda: watcher.for_alarm(theft.alarm_id, action="withdraw")
        )
        assert (withdrawn.unit_id, withdrawn.withdraw_reason) == ("SY-P13-M1", "scene_moved")
        sent = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id)[1:])
        (again,) = sent
        assert again.unit_id == "SY-P13-M1" and again.work_order_id != first.work_order_id
        assert (again.scene.lat, again.scene.lon, again.priority) == (lat, lon, 1)
        rows = await db.fetch(
            "select unit_id, status, withdraw_reason from work_orders where alarm_id = $1 "
            "order by issued_at",
            theft.alarm_id,
        )
        assert [tuple(r) for r in rows] == [
            ("SY-P13-M1", "withdrawn", "scene_moved"),
            ("SY-P13-M1", "assigned", None),
        ]
        stored = await db.fetchrow(
            "select (body->'location'->>'lat')::float8 as lat, priority from dispatch_alarms "
            "where alarm_id = $1",
            theft.alarm_id,
        )
        assert (stored["lat"], stored["priority"]) == (lat, 1)


async def test_a_corrected_scene_nearby_goes_to_the_same_unit_with_the_new_place(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        # a second unit nearer the corrected place: a correction does not re-plan
        await peers.units(
            unit_state("SY-P16-M1", east(150, north=300)),
            unit_state("SY-P16-M2", east(350, north=300)),
        )
        theft = alarm(east(0, north=300))
        await peers.alarm(theft)
        (first,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert first.unit_id == "SY-P16-M1"
        lat, lon = east(200, north=300)
        corrected = amended(
            theft,
            location=GeoPoint(lat=lat, lon=lon),
            amendment=Amendment(update_id="U-3", at=now(), moved_m=200.0),
        )
        await peers.alarm(corrected)
        (withdrawn,) = await watcher.wait_for(
            lambda: watcher.for_alarm(theft.alarm_id, action="withdraw")
        )
        assert withdrawn.withdraw_reason == "scene_corrected"
        (again,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id)[1:])
        assert (again.unit_id, again.role, again.reason) == (
            "SY-P16-M1",
            "primary",
            "scene_corrected",
        )
        assert (again.scene.lat, again.scene.lon) == (lat, lon)
        state = await db.fetchval(
            "select state from dispatch_alarms where alarm_id = $1", theft.alarm_id
        )
        assert state == "assigned"
        open_now = await db.fetch(
            "select unit_id from work_orders where alarm_id = $1 and status in "
            "('assigned', 'accepted', 'en_route', 'on_scene')",
            theft.alarm_id,
        )
        assert [r["unit_id"] for r in open_now] == ["SY-P16-M1"]


async def test_a_cancel_withdraws_every_unit_and_tells_each_one(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(
            unit_state("SY-P14-M1", east(-150)),
            unit_state("SY-P14-M2", east(-300), UnitStatus.available),
        )
        fight = alarm(east(-100))
        await peers.alarm(fight)
        (primary,) = await watcher.wait_for(lambda: watcher.for_alarm(fight.alarm_id))
        backup = await peers.command(AddBackup(alarm_id=fight.alarm_id, unit_id="SY-P14-M2"))
        (added,) = await watcher.wait_for(lambda: watcher.result_of(backup))
        assert added.outcome == "done"
        cancelled = amended(
            fight,
            amendment=Amendment(update_id="C-1", at=now(), cancelled=CancelReason.false_alarm),
        )
        await peers.alarm(cancelled)
        told = await watcher.wait_for(
            lambda: (
                watcher.for_alarm(fight.alarm_id, action="withdraw")[1:]
                and watcher.for_alarm(fight.alarm_id, action="withdraw")
            )
        )
        assert sorted((o.unit_id, o.withdraw_reason) for o in told) == [
            (primary.unit_id, "alarm_cancelled"),
            ("SY-P14-M2", "alarm_cancelled"),
        ]

        # the withdrawal and the alarm's end are one transaction
        state = await db.fetchval(
            "select state from dispatch_alarms where alarm_id = $1", fight.alarm_id
        )
        assert state == "done"
        still_open = await db.fetchval(
            "select count(*) from work_orders where alarm_id = $1 and status in "
            "('assigned', 'accepted', 'en_route', 'on_scene')",
            fight.alarm_id,
        )
        assert still_open == 0
        # the freed unit goes to the next call
        robbery = alarm(east(-120))
        await peers.alarm(robbery)
        (next_order,) = await watcher.wait_for(lambda: watcher.for_alarm(robbery.alarm_id))
        assert next_order.unit_id == primary.unit_id
        assert len(watcher.for_alarm(fight.alarm_id)) == 2  # never sent again


async def test_a_new_priority_without_a_move_keeps_the_unit(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch():
        await peers.units(unit_state("SY-P15-M1", east(100, north=-300)))
        call = alarm(east(0, north=-300))
        await peers.alarm(call)
        (first,) = await watcher.wait_for(lambda: watcher.for_alarm(call.alarm_id))
        urgent = amended(call, priority=1, amendment=Amendment(update_id="U-2", at=now()))
        await peers.alarm(urgent)

        async with asyncio.timeout(20):
            while (
                await db.fetchval(
                    "select priority from dispatch_alarms where alarm_id = $1", call.alarm_id
                )
                != 1
            ):
                await asyncio.sleep(0.05)
        assert watcher.for_alarm(call.alarm_id, action="withdraw") == []
        assert [o.work_order_id for o in watcher.for_alarm(call.alarm_id)] == [first.work_order_id]
