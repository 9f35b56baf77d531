"""Answers from terminals and arrivals detected from GPS: accepted, en route, on scene (the
1/3/5 measurement), closed (the unit returns to patrol), rejected (the next unit goes)."""

from collections.abc import Sequence

import asyncpg

from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import WAITING, DispatchState
from kj_dispatch.domain.measurement import measure
from kj_dispatch.domain.workorder import (
    ENDING,
    WITHDRAWABLE,
    OpenOrder,
    after,
    arrival_counts,
    arrival_source,
    timely_after_timeout,
)
from kj_dispatch.service_layer import telemetry
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.service_layer.restoration import restore
from kj_dispatch.service_layer.withdrawal import withdraw
from kj_schemas.enums import WorkOrderEventKind, WorkOrderRole, WorkOrderStatus
from kj_schemas.workorders import WorkOrderEvent

# a job given back to the unit that accepted in time, and the work order that gave way for it
Restored = tuple[OpenOrder, OpenOrder | None]


async def handle_events(dispatcher: Dispatcher, events: Sequence[WorkOrderEvent]) -> None:
    """A batch of events in one transaction (each recorded by message id), then the book."""
    applied: dict[object, WorkOrderStatus | None] = {}
    book = dispatcher.book
    restored: list[Restored] = []
    async with dispatcher.pool.acquire() as connection, connection.transaction():
        recorded_elsewhere: list[WorkOrderEvent] = []
        for event in events:
            if await repo.record_event(connection, event):
                if event.post_id is not None:  # a unit reached its post (decision 0063)
                    await repo.reposition_reached(
                        connection, event.work_order_id, event.occurred_at
                    )
                    continue
                applied[event.message_id] = await _apply(dispatcher, connection, event)
            elif book.order(event.work_order_id) is not None:
                recorded_elsewhere.append(event)
            if event.kind is WorkOrderEventKind.accepted and applied.get(event.message_id) is None:
                await _restore_if_timely(dispatcher, connection, event, restored)
        if recorded_elsewhere:
            # every replica reads every answer (decision 0032); the one that recorded it first
            # applied it: the book takes the work order's status from PostgreSQL
            now = await repo.work_order_statuses(
                connection, [e.work_order_id for e in recorded_elsewhere]
            )
            for event in recorded_elsewhere:
                order = book.order(event.work_order_id)
                status = now.get(event.work_order_id)
                if order is not None and status is not None and status != order.status:
                    applied[event.message_id] = status
    for order, gave_way in restored:
        dispatcher.restored(order, gave_way)
    for event in events:
        status = applied.get(event.message_id)
        if book.answered(event.work_order_id, event.unit_id, event.kind, status) is not None:
            telemetry.lost("rejected")
        if event.kind in ENDING and book.waiting:  # a unit may be free for a waiting alarm
            dispatcher.wake.set()


async def handle_event(dispatcher: Dispatcher, event: WorkOrderEvent) -> None:
    await handle_events(dispatcher, [event])


async def _apply(
    dispatcher: Dispatcher, connection: asyncpg.Connection, event: WorkOrderEvent
) -> WorkOrderStatus | None:
    """Apply one event to its work order; returns the order's new status, None if ignored."""
    row = await repo.lock_work_order(connection, event.work_order_id)
    if row is None or row["unit_id"] != event.unit_id:
        return None
    status = after(WorkOrderStatus(row["status"]), event.kind)
    if status is None:
        return None
    at = event.occurred_at
    kind = event.kind
    if kind is WorkOrderEventKind.accepted:
        await repo.update_work_order(
            connection, row["work_order_id"], status=status, accepted_at=at
        )
    elif kind is WorkOrderEventKind.en_route:
        await repo.update_work_order(
            connection, row["work_order_id"], status=status, en_route_at=at
        )
    elif kind is WorkOrderEventKind.on_scene:
        await _on_scene(dispatcher, connection, row, event)
    elif kind is WorkOrderEventKind.closed:
        await repo.update_work_order(
            connection,
            row["work_order_id"],
            status=status,
            closed_at=at,
            disposition_code=event.disposition_code,
        )
        if row["role"] == WorkOrderRole.primary:
            await repo.set_alarm_state(
                connection,
                row["alarm_id"],
                DispatchState.done,
                only_from=(DispatchState.assigned, *WAITING),
            )
    elif kind is WorkOrderEventKind.rejected:
        await withdraw(
            connection,
            dispatcher.outbox,
            repo.order_of(row),
            status=status,
            reason=event.reason,
            at=None,
            only_from=WITHDRAWABLE,
            tell=None,  # the unit said no itself
        )
    return status


async def _restore_if_timely(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    event: WorkOrderEvent,
    restored: list[Restored],
) -> None:
    """An acceptance that did not apply: if it reached the gateway by the deadline of a work
    order the timer withdrew meanwhile, the region's holder (only it: every replica reads every
    answer) gives the unit its job back, once."""
    row = await repo.work_order_row(connection, event.work_order_id)
    if (
        row is None
        or row["unit_id"] != event.unit_id
        or not timely_after_timeout(
            status=WorkOrderStatus(row["status"]),
            withdraw_reason=row["withdraw_reason"],
            accept_by=row["accept_by"],
            received_at=event.received_at or event.occurred_at,
        )
    ):
        return
    region = await repo.alarm_region(connection, row["alarm_id"])
    if region not in dispatcher.leases:
        return
    if await repo.restored_since(connection, row["alarm_id"], row["unit_id"], row["withdrawn_at"]):
        return
    current = await repo.open_primary(connection, row["alarm_id"])
    order = await restore(
        connection,
        dispatcher.outbox,
        row,
        event,
        now=dispatcher.clock(),
        accept_within_s=dispatcher.timings.accept_timeout_s,
    )
    if order is not None:
        gave_way = current if current is not None and order.primary else None
        restored.append((order, gave_way))


async def _on_scene(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    row: asyncpg.Record,
    event: WorkOrderEvent,
) -> None:
    """The arrival is recorded by the rule of `arrival_counts`; the response time is measured
    once, on the primary."""
    source = arrival_source(event.source)
    first = row["on_scene_at"] is None
    if not arrival_counts(first=first, recorded=row["on_scene_source"], source=source):
        return
    values: dict[str, object] = {
        "status": WorkOrderStatus.on_scene,
        "on_scene_at": event.occurred_at,
        "on_scene_source": source,
    }
    alarm = dispatcher.book.alarm(row["alarm_id"]) or await repo.alarm_body(
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
            "citizen_seconds": m.citizen_s,
            "platform_seconds": m.platform_s,
            "target_met": m.target_met,
        }
        if first and row["role"] == WorkOrderRole.primary:
            telemetry.arrived(alarm, row["platform_id"], m, source)
    await repo.update_work_order(connection, row["work_order_id"], **values)
