"""Where idle units patrol (issue 15, decision 0063), through the real broker and database: a
free unit on duty is sent to a post and stays free for calls; its arrival, detected by
tracking, is recorded; a call that takes a unit bound for a post withdraws the post's order in
the same transaction as the call's; a unit that goes off duty gives its post back."""

import asyncio

import asyncpg

from kj_schemas.enums import EventSource, UnitStatus, WorkOrderAction, WorkOrderEventKind
from kj_schemas.workorders import WorkOrder

from .conftest import Start
from .helpers import Peers, Watcher, alarm, east, event, unit_state

FAST = {"positioning_interval_s": 0.2}


def posts_of(watcher: Watcher, unit_id: str, action: str = "reposition") -> list[WorkOrder]:
    return [
        o
        for o in watcher.orders
        if o.unit_id == unit_id and o.post_id is not None and o.action == action
    ]


async def _until(db: asyncpg.Connection, query: str, *args: object, within_s: float = 20) -> object:
    async with asyncio.timeout(within_s):
        while not (value := await db.fetchval(query, *args)):
            await asyncio.sleep(0.1)
        return value


async def test_a_free_unit_is_sent_to_a_post_and_its_arrival_there_is_recorded(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch(**FAST):
        await peers.units(unit_state("SY-P06-M1", east(300)))
        (order,) = await watcher.wait_for(lambda: posts_of(watcher, "SY-P06-M1"))
        assert order.alarm_id is None and order.patrol_radius_m and order.patrol_radius_m > 0
        row = await db.fetchrow(
            "select * from dispatch_repositions where work_order_id = $1", order.work_order_id
        )
        assert row is not None and row["status"] == "open" and row["post_id"] == order.post_id
        assert row["reached_at"] is None
        # tracking saw the unit within the post's radius
        await peers.event(
            event(order, WorkOrderEventKind.on_scene, source=EventSource.gps, post_id=order.post_id)
        )
        await _until(
            db,
            "select reached_at is not null from dispatch_repositions where work_order_id = $1",
            order.work_order_id,
        )

        # off duty, the unit gives its post back: the terminal is told, the post counts empty
        await peers.units(unit_state("SY-P06-M1", east(300), UnitStatus.off_duty))
        (released,) = await watcher.wait_for(
            lambda: posts_of(watcher, "SY-P06-M1", action=WorkOrderAction.withdraw)
        )
        assert (released.work_order_id, released.withdraw_reason) == (
            order.work_order_id,
            "off_duty",
        )
        assert (
            await db.fetchval(
                "select status from dispatch_repositions where work_order_id = $1",
                order.work_order_id,
            )
            == "withdrawn"
        )


async def test_a_call_takes_a_unit_bound_for_its_post_and_the_post_order_is_withdrawn(
    start_dispatch: Start, peers: Peers, watcher: Watcher, db: asyncpg.Connection
) -> None:
    async with start_dispatch(**FAST):
        await peers.units(unit_state("SY-P06-M1", east(300)))
        (post,) = await watcher.wait_for(lambda: posts_of(watcher, "SY-P06-M1"))
        theft = alarm(east(0))
        await peers.alarm(theft)
        (order,) = await watcher.wait_for(lambda: watcher.for_alarm(theft.alarm_id))
        assert order.unit_id == "SY-P06-M1"  # the post does not hold the unit back
        (withdrawn,) = await watcher.wait_for(
            lambda: posts_of(watcher, "SY-P06-M1", action=WorkOrderAction.withdraw)
        )
        assert withdrawn.work_order_id == post.work_order_id
        assert withdrawn.withdraw_reason == "superseded_by_call"
        # the withdraw was published before the call's order (one transaction, one outbox)
        ids = [o.work_order_id for o in watcher.orders]
        assert ids.index(withdrawn.work_order_id, ids.index(post.work_order_id) + 1) < ids.index(
            order.work_order_id
        )
        row = await db.fetchrow(
            "select status, ended_reason from dispatch_repositions where work_order_id = $1",
            post.work_order_id,
        )
        assert row is not None and (row["status"], row["ended_reason"]) == ("superseded", "call")

        # back from the call, the unit is given the post where it now adds most (a new order:
        # the first post may itself be "freed" when the shift's plan ran while quiet_city still
        # had the unit off duty)
        await peers.event(event(order, WorkOrderEventKind.accepted))
        await peers.event(event(order, WorkOrderEventKind.closed, disposition_code="resolved"))
        (freed,) = await watcher.wait_for(
            lambda: [
                p
                for p in posts_of(watcher, "SY-P06-M1")
                if p.reason == "freed" and p.work_order_id != post.work_order_id
            ]
        )
        assert freed.post_id
