"""Work orders, the units' answers and the dispatchers' commands (with the person who gave
them) fill in each alarm's timeline and status. Idempotent: each message id is recorded in the
same transaction as its effect."""

from typing import Any

import asyncpg
import structlog

from kj_alarm.adapters import alarm_store as store
from kj_alarm.domain.response import (
    OPEN_STATUSES,
    status_after_assign,
    status_after_event,
    status_after_withdraw,
)
from kj_alarm.service_layer import messages
from kj_alarm.service_layer.deps import Deps
from kj_runtime.idempotency import first_time
from kj_schemas.alarms import SCENE_CORRECTED
from kj_schemas.commands import CLOSED_BY_COMMAND_CENTRE, CommandHandled
from kj_schemas.enums import (
    AlarmStatus,
    CommandKind,
    CommandOutcome,
    WorkOrderAction,
    WorkOrderEventKind,
)
from kj_schemas.topics import ALARMS_STATUS
from kj_schemas.workorders import WorkOrder, WorkOrderEvent

log = structlog.get_logger(__name__)
CONSUMER = "alarm-timeline"


class UnknownWorkOrder(Exception):
    """An event for a work order the alarm service never saw (or for an alarm it never took)."""


async def _publish_if_changed(
    connection: asyncpg.Connection, deps: Deps, row: Any, new: AlarmStatus, **why: Any
) -> None:
    if new == row["status"]:
        return
    await store.set_status(connection, row["alarm_id"], new, merged_into=row["merged_into"])
    update = messages.status_changed(row, new, deps.clock(), **why)
    await deps.outbox.put(connection, ALARMS_STATUS.name, str(row["alarm_id"]), update)


async def on_work_order(order: WorkOrder, deps: Deps) -> None:
    if order.alarm_id is None:  # a post's order (a reposition): no alarm's story
        return
    async with deps.pool.acquire() as connection, connection.transaction():
        if not await first_time(connection, CONSUMER, order.message_id):
            return
        row = await store.find(connection, order.alarm_id, for_update=True)
        if row is None:
            raise UnknownWorkOrder(f"alarm {order.alarm_id} is not known to the alarm service")
        who = {"unit_id": order.unit_id, "work_order_id": order.work_order_id}
        current = AlarmStatus(row["status"])
        if order.action is WorkOrderAction.assign:
            await store.record_work_order(
                connection, order.work_order_id, order.alarm_id, order.unit_id, str(order.role)
            )
            detail = {"eta_seconds": order.eta_seconds, "role": str(order.role)}
            detail |= {"at_risk": order.at_risk, "platform_id": order.platform_id}
            entry = (
                order.alarm_id,
                "assigned",
                order.issued_at,
                order.unit_id,
                order.work_order_id,
                detail,
            )
            await store.add_timeline(connection, [entry], event_id=order.message_id)
            await _publish_if_changed(connection, deps, row, status_after_assign(current), **who)
        else:
            await store.close_work_order(connection, order.work_order_id)
            detail = {"withdraw_reason": order.withdraw_reason}
            entry = (
                order.alarm_id,
                "withdrawn",
                order.issued_at,
                order.unit_id,
                order.work_order_id,
                detail,
            )
            await store.add_timeline(connection, [entry], event_id=order.message_id)
            left = await store.open_work_orders(connection, order.alarm_id)
            new = status_after_withdraw(current, open_orders_left=left)
            if order.withdraw_reason == CLOSED_BY_COMMAND_CENTRE:
                new = current  # the incident is over: the dispatcher's command closes it
            if order.withdraw_reason == SCENE_CORRECTED:
                new = current  # the same unit gets the job again at the corrected place

            await _publish_if_changed(
                connection, deps, row, new, reason=order.withdraw_reason, **who
            )


async def on_event(event: WorkOrderEvent, deps: Deps) -> None:
    if event.post_id is not None:  # a unit reached its post: no alarm's story
        return
    async with deps.pool.acquire() as connection, connection.transaction():
        if not await first_time(connection, CONSUMER, event.message_id):
            return
        order = await store.work_order_alarm(connection, event.work_order_id)
        if order is None:
            raise UnknownWorkOrder(f"work order {event.work_order_id} was never seen")
        row = await store.find(connection, order["alarm_id"], for_update=True)
        assert row is not None  # alarm_work_orders references alarms
        if event.kind in (WorkOrderEventKind.closed, WorkOrderEventKind.rejected):
            await store.close_work_order(connection, event.work_order_id)
        detail: dict[str, Any] = {"source": str(event.source)}
        if event.disposition_code:
            detail["disposition_code"] = event.disposition_code
        if event.reason:
            detail["reason"] = event.reason
        if event.location:
            detail["location"] = {"lat": event.location.lat, "lon": event.location.lon}
        entry = (
            row["alarm_id"],
            str(event.kind),
            event.occurred_at,
            event.unit_id,
            event.work_order_id,
            detail,
        )
        await store.add_timeline(connection, [entry], event_id=event.message_id)
        if order["role"] != "primary" and event.kind is not WorkOrderEventKind.on_scene:
            return  # a backup unit's answers are recorded; the primary's move the alarm
        left = await store.open_work_orders(connection, row["alarm_id"])
        new = status_after_event(AlarmStatus(row["status"]), event.kind, open_orders_left=left)
        why = {"unit_id": event.unit_id, "work_order_id": event.work_order_id}
        await _publish_if_changed(connection, deps, row, new, reason=event.reason, **why)


async def on_command_handled(result: CommandHandled, deps: Deps) -> None:
    """A dispatcher's command about an alarm, with who gave it and dispatch's answer, on the
    alarm's timeline; a `close_alarm` that was done closes the alarm (issue 17)."""
    if result.alarm_id is None:
        return  # about a unit (its duty): the console's audit keeps it
    async with deps.pool.acquire() as connection, connection.transaction():
        if not await first_time(connection, CONSUMER, result.message_id):
            return
        row = await store.find(connection, result.alarm_id, for_update=True)
        if row is None:
            raise UnknownWorkOrder(f"alarm {result.alarm_id} is not known to the alarm service")
        detail: dict[str, Any] = {
            "actor": result.actor,
            "command": str(result.kind),
            "outcome": str(result.outcome),
        }
        for name in ("reason", "detail", "disposition_code", "replaced_work_order_id"):
            if (value := getattr(result, name)) is not None:
                detail[name] = str(value)
        entry = (
            result.alarm_id,
            "dispatcher_command",
            result.handled_at,
            result.unit_id,
            result.work_order_id,
            detail,
        )
        await store.add_timeline(connection, [entry], event_id=result.message_id)
        closes = result.kind is CommandKind.close_alarm and result.outcome is CommandOutcome.done
        if closes and AlarmStatus(row["status"]) in OPEN_STATUSES:
            await _publish_if_changed(
                connection, deps, row, AlarmStatus.closed, reason=result.disposition_code
            )
