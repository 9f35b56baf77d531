"""Work orders and their events set unit statuses: assign → assigned, accepted/en_route →
en_route, on_scene → on_scene, closed → returning (available back at base or after a while),
rejected or withdrawn → available. A reposition gives the unit a post to patrol and leaves its
status alone (it stays free for calls); a call's assign takes the post away. Each is recorded
first, so a restart knows open scenes and posts."""

from collections.abc import Sequence

import asyncpg

from kj_schemas.enums import UnitStatus, WorkOrderAction, WorkOrderEventKind
from kj_schemas.workorders import WorkOrder, WorkOrderEvent
from kj_tracking.adapters import records
from kj_tracking.domain import posts
from kj_tracking.domain import status as unit_status
from kj_tracking.domain.units import UnitTrack
from kj_tracking.service_layer.tracker import Tracker

_CLOSING = {WorkOrderEventKind.closed, WorkOrderEventKind.rejected}


async def handle_work_orders(tracker: Tracker, orders: Sequence[WorkOrder]) -> None:
    await _apply(tracker, orders)


async def handle_events(tracker: Tracker, events: Sequence[WorkOrderEvent]) -> None:
    await _apply(tracker, events)


async def _apply(tracker: Tracker, messages: Sequence[WorkOrder | WorkOrderEvent]) -> None:
    assert tracker.pool is not None
    changed: dict[str, UnitTrack] = {}
    now = tracker.clock()
    async with tracker.pool.acquire() as connection:
        for message in messages:
            unit = tracker.units.get(message.unit_id)
            if unit is None:
                continue  # not a unit of this city: nothing to track
            if isinstance(message, WorkOrder):
                radius = tracker.policy.arrival_radius_m
                moved = await _work_order(connection, unit, message, radius)
            else:
                moved = await _event(connection, unit, message, now)
            if moved and unit.has_fix:
                changed[unit.unit_id] = unit
    await tracker.publish(changed.values(), now)


async def _work_order(
    connection: asyncpg.Connection, unit: UnitTrack, order: WorkOrder, radius_m: float
) -> bool:
    work_order_id = str(order.work_order_id)
    if order.action is WorkOrderAction.withdraw:
        await records.set_work_order_status(connection, work_order_id, "closed")
        if order.for_post:
            return posts.leave_post(unit, work_order_id)
        return unit_status.release(unit, work_order_id)
    if order.for_post:
        assert order.post_id is not None
        radius = float(order.patrol_radius_m or radius_m)
        status = await records.open_work_order(
            connection,
            work_order_id,
            unit.unit_id,
            order.scene.lat,
            order.scene.lon,
            post_id=order.post_id,
            patrol_radius_m=radius,
        )
        if status != "open":
            return False  # a reposition already over (replayed)
        return posts.head_to_post(
            unit, work_order_id, order.post_id, order.scene.lat, order.scene.lon, radius
        )
    status = await records.open_work_order(
        connection, work_order_id, unit.unit_id, order.scene.lat, order.scene.lon
    )
    if status != "open" or unit.work_order_id == work_order_id:
        return False  # a repeat, or an assignment already over
    if unit.post is not None:  # the call supersedes the post
        await records.close_posts_of(connection, unit.unit_id)
        posts.leave_post(unit)
    return unit_status.assign(unit, work_order_id, order.scene.lat, order.scene.lon)


async def _event(
    connection: asyncpg.Connection, unit: UnitTrack, event: WorkOrderEvent, now: float
) -> bool:
    work_order_id = str(event.work_order_id)
    if event.kind in _CLOSING:
        await records.set_work_order_status(connection, work_order_id, "closed")
    elif event.kind is WorkOrderEventKind.on_scene:
        await records.set_work_order_status(connection, work_order_id, "on_scene")
    return unit_status.work_order_event(unit, work_order_id, event.kind.value, now)


async def load_open_work_orders(tracker: Tracker) -> int:
    """At startup, after unit states were restored: every open scene back into memory."""
    assert tracker.pool is not None
    async with tracker.pool.acquire() as connection:
        open_orders = await records.open_work_orders(connection)
    for order in open_orders:
        unit = tracker.units.get(order.unit_id)
        if unit is None:
            continue
        if order.post_id is not None:  # a post it patrols or drives to
            radius = order.patrol_radius_m or tracker.policy.arrival_radius_m
            posts.head_to_post(
                unit, order.work_order_id, order.post_id, order.scene_lat, order.scene_lon, radius
            )
            if order.arrived and unit.post is not None:
                unit.post = unit.post._replace(reached=True)
            continue
        if unit.work_order_id != order.work_order_id:
            unit_status.assign(unit, order.work_order_id, order.scene_lat, order.scene_lon)
        unit.scene_lat, unit.scene_lon = order.scene_lat, order.scene_lon
        if order.arrived and unit.status in (UnitStatus.assigned, UnitStatus.en_route):
            unit.status = UnitStatus.on_scene
    return len(open_orders)
