"""Work orders and their events set unit statuses: assign → assigned, accepted/en_route →
en_route, on_scene → on_scene, closed → returning (available back at base or after a while),
rejected or withdrawn → available. A reposition gives the unit a post to patrol and leaves its
status alone (it stays free for calls); a call's assign takes the post away. A batch is
recorded in one transaction before its states are published (and before its offsets are
committed), so a restart knows open scenes and posts."""

from collections.abc import Sequence

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


class Ledger:
    """The batch's rows of `tracking_work_orders`, changed in memory as the statements one per
    message used to change them, and written once at the end (`records.write_followed`).

    One statement per message meant one await each: between two, the event loop ran a batch
    of up to 20,000 pings (most of a second of CPU at province scale), so a burst of work
    orders took minutes to follow and arrivals were found that late (the soak, 2026-12-02:
    this group 100-190 s behind)."""

    def __init__(self, rows: Sequence[records.Followed]) -> None:
        self.rows = {r.work_order_id: r for r in rows}

    def open(
        self,
        work_order_id: str,
        unit_id: str,
        lat: float,
        lon: float,
        *,
        post_id: str | None = None,
        patrol_radius_m: float | None = None,
    ) -> str:
        """Follow an order (a repeat changes nothing); its status, so a replayed order that
        is over does not reopen."""
        row = self.rows.get(work_order_id)
        if row is None:
            row = records.Followed(
                work_order_id, unit_id, "open", post_id, lat, lon, patrol_radius_m, new=True
            )
            self.rows[work_order_id] = row
        return row.status

    def set_status(self, work_order_id: str, status: str) -> None:
        row = self.rows.get(work_order_id)
        if row is not None and row.status != "closed":
            row.status, row.changed = status, True

    def close_posts_of(self, unit_id: str) -> None:
        """A call took the unit: the post it held is no longer its."""
        for row in self.rows.values():
            if row.unit_id == unit_id and row.post_id is not None and row.status != "closed":
                row.status, row.changed = "closed", True

    def touched(self) -> list[records.Followed]:
        return [r for r in self.rows.values() if r.new or r.changed]


async def _apply(tracker: Tracker, messages: Sequence[WorkOrder | WorkOrderEvent]) -> None:
    assert tracker.pool is not None
    changed: dict[str, UnitTrack] = {}
    now = tracker.clock()
    ours = [m for m in messages if m.unit_id in tracker.units]  # others: not this city's
    if not ours:
        return
    called = {
        m.unit_id
        for m in ours
        if isinstance(m, WorkOrder) and m.action is not WorkOrderAction.withdraw and not m.for_post
    }
    async with tracker.pool.acquire() as connection:
        ledger = Ledger(
            await records.followed(connection, [str(m.work_order_id) for m in ours], list(called))
        )
        for message in ours:
            unit = tracker.units[message.unit_id]
            if isinstance(message, WorkOrder):
                moved = _work_order(ledger, unit, message, tracker.policy.arrival_radius_m)
            else:
                moved = _event(ledger, unit, message, now)
            if moved and unit.has_fix:
                changed[unit.unit_id] = unit
        await records.write_followed(connection, ledger.touched())
    await tracker.publish(changed.values(), now)


def _work_order(ledger: Ledger, unit: UnitTrack, order: WorkOrder, radius_m: float) -> bool:
    work_order_id = str(order.work_order_id)
    if order.action is WorkOrderAction.withdraw:
        ledger.set_status(work_order_id, "closed")
        if order.for_post:
            return posts.leave_post(unit, work_order_id)
        return unit_status.release(unit, work_order_id)
    if order.for_post:
        assert order.post_id is not None
        radius = float(order.patrol_radius_m or radius_m)
        status = ledger.open(
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
    status = ledger.open(work_order_id, unit.unit_id, order.scene.lat, order.scene.lon)
    if status != "open" or unit.work_order_id == work_order_id:
        return False  # a repeat, or an assignment already over
    if unit.post is not None:  # the call supersedes the post
        ledger.close_posts_of(unit.unit_id)
        posts.leave_post(unit)
    return unit_status.assign(unit, work_order_id, order.scene.lat, order.scene.lon)


def _event(ledger: Ledger, unit: UnitTrack, event: WorkOrderEvent, now: float) -> bool:
    work_order_id = str(event.work_order_id)
    if event.kind in _CLOSING:
        ledger.set_status(work_order_id, "closed")
    elif event.kind is WorkOrderEventKind.on_scene:
        ledger.set_status(work_order_id, "on_scene")
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
