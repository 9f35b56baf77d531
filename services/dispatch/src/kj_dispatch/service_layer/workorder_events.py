"""Answers from terminals and arrivals detected from GPS: accepted, en route, on scene (the
1/3/5 measurement), closed (the unit returns to patrol), rejected (the next unit goes)."""

from collections.abc import Sequence

import asyncpg
import structlog

from kj_dispatch import metrics
from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.measurement import measure
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_schemas.enums import EventSource, WorkOrderEventKind
from kj_schemas.workorders import WorkOrderEvent

log = structlog.get_logger(__name__)

_BEFORE = {
    WorkOrderEventKind.accepted: ("assigned",),
    WorkOrderEventKind.en_route: ("assigned", "accepted"),
    WorkOrderEventKind.on_scene: ("assigned", "accepted", "en_route", "on_scene"),
    WorkOrderEventKind.closed: ("assigned", "accepted", "en_route", "on_scene"),
    WorkOrderEventKind.rejected: ("assigned", "accepted", "en_route"),
}


async def handle_events(dispatcher: Dispatcher, events: Sequence[WorkOrderEvent]) -> None:
    """A batch of events in one transaction (each recorded by message id), then memory."""
    applied: dict[object, str | None] = {}
    async with dispatcher.pool.acquire() as connection, connection.transaction():
        for event in events:
            if await repo.record_event(connection, event):
                applied[event.message_id] = await _apply(dispatcher, connection, event)
    for event in events:
        _remember(dispatcher, event, applied.get(event.message_id))


async def handle_event(dispatcher: Dispatcher, event: WorkOrderEvent) -> None:
    await handle_events(dispatcher, [event])


def _remember(dispatcher: Dispatcher, event: WorkOrderEvent, new_status: str | None) -> None:
    dispatcher.fleet.answered(event.unit_id)
    order = dispatcher.orders.get(event.work_order_id)
    if event.kind in (WorkOrderEventKind.closed, WorkOrderEventKind.rejected):
        if order is not None:
            dispatcher._forget_order(order)
            if event.kind is WorkOrderEventKind.rejected:
                dispatcher._requeue_after_losing(order, reason="rejected")
            elif order.role == "primary":
                dispatcher._forget_alarm(order.alarm_id)
        elif (unit := dispatcher.fleet.units.get(event.unit_id)) and unit.held_elsewhere:
            # another dispatcher's work order ended: the unit is free again
            dispatcher.fleet.release(event.unit_id)
        if dispatcher.waiting:
            dispatcher.wake.set()
    elif order is not None and new_status is not None:
        order.status = new_status
        dispatcher._remember(order)


async def _apply(
    dispatcher: Dispatcher, connection: asyncpg.Connection, event: WorkOrderEvent
) -> str | None:
    """Apply one event to its work order; returns the order's new status, None if ignored."""
    row = await repo.lock_work_order(connection, event.work_order_id)
    if row is None or row["unit_id"] != event.unit_id or row["status"] not in _BEFORE[event.kind]:
        return None
    at = event.occurred_at
    kind = event.kind
    if kind is WorkOrderEventKind.accepted:
        await repo.update_work_order(
            connection, row["work_order_id"], status="accepted", accepted_at=at
        )
    elif kind is WorkOrderEventKind.en_route:
        await repo.update_work_order(
            connection, row["work_order_id"], status="en_route", en_route_at=at
        )
    elif kind is WorkOrderEventKind.on_scene:
        await _on_scene(dispatcher, connection, row, event)
    elif kind is WorkOrderEventKind.closed:
        await repo.update_work_order(
            connection,
            row["work_order_id"],
            status="closed",
            closed_at=at,
            disposition_code=event.disposition_code,
        )
        if row["role"] == "primary":
            await repo.set_alarm_state(
                connection, row["alarm_id"], "done", only_from=("assigned", "pending", "queued")
            )
    elif kind is WorkOrderEventKind.rejected:
        await repo.update_work_order(
            connection, row["work_order_id"], status="rejected", withdraw_reason=event.reason
        )
        if row["role"] == "primary":
            await repo.set_alarm_state(
                connection, row["alarm_id"], "pending", only_from=("assigned",)
            )
    return {
        WorkOrderEventKind.accepted: "accepted",
        WorkOrderEventKind.en_route: "en_route",
        WorkOrderEventKind.on_scene: "on_scene",
        WorkOrderEventKind.closed: "closed",
        WorkOrderEventKind.rejected: "rejected",
    }[kind]


async def _on_scene(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    row: asyncpg.Record,
    event: WorkOrderEvent,
) -> None:
    """GPS first, the terminal's button as fallback: a GPS arrival replaces a button press,
    never the other way round. The response time is measured once, on the primary."""
    source = "gps" if event.source is EventSource.gps else "terminal"
    first = row["on_scene_at"] is None
    if not first and not (row["on_scene_source"] == "terminal" and source == "gps"):
        return
    values: dict[str, object] = {
        "status": "on_scene",
        "on_scene_at": event.occurred_at,
        "on_scene_source": source,
    }
    alarm = dispatcher.alarms.get(row["alarm_id"]) or await repo.alarm_body(
        connection, row["alarm_id"]
    )
    if alarm is not None:
        m = measure(
            reported_at=alarm.reported_at,
            received_at=alarm.received_at,
            issued_at=row["issued_at"],
            on_scene_at=event.occurred_at,
            target_s=alarm.target_seconds,
        )
        values |= {
            "response_seconds": m.response_s,
            "platform_seconds": m.platform_s,
            "target_met": m.target_met,
        }
        if first and row["role"] == "primary":
            tier = str(alarm.tier)
            metrics.RESPONSE_SECONDS.labels(tier, row["platform_id"]).observe(m.response_s)
            metrics.TARGET_TOTAL.labels(tier, "met" if m.target_met else "missed").inc()
            log.info(
                "on_scene",
                alarm_id=str(alarm.alarm_id),
                response_s=round(m.response_s, 1),
                platform_s=round(m.platform_s, 3),
                target_met=m.target_met,
                source=source,
            )
    await repo.update_work_order(connection, row["work_order_id"], **values)
