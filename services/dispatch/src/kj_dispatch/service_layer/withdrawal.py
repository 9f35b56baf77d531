"""Taking a work order from its unit, the one way for the three reasons it happens: a more urgent
call needs the unit (preemption), the unit did not accept in time, or the unit declined it."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import DispatchState
from kj_dispatch.domain.workorder import OpenOrder
from kj_dispatch.service_layer.messages import notice, send_notice, send_work_order, work_order
from kj_runtime.outbox import Outbox
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.enums import NoticeKind, WorkOrderAction, WorkOrderStatus


@dataclass(frozen=True, slots=True)
class Tell:
    """Who hears of a withdrawal: the unit (a withdraw work order) and the command centre (a
    notice of `kind`, for `reason`; none when a dispatcher asked for it); nobody when the alarm
    is not known."""

    alarm: AlarmAccepted | None
    kind: NoticeKind | None
    reason: str
    accept_within_s: int


async def withdraw(
    connection: asyncpg.Connection,
    outbox: Outbox,
    order: OpenOrder,
    *,
    reason: str | None,
    at: datetime | None,
    only_from: Collection[WorkOrderStatus],
    tell: Tell | None,
    status: WorkOrderStatus = WorkOrderStatus.withdrawn,
) -> bool:
    """In the caller's transaction: the work order leaves the open statuses (only from
    `only_from`), the unit and the command centre hear of it (`tell`; None when the unit
    declined the order itself), and a primary's alarm waits for a
    unit again. `at` is when dispatch withdrew it (None for a rejection, which records no
    withdrawal time). False, with nothing written, when the order had moved on already. The
    book follows after the commit (`Book.requeue_after_losing`)."""
    moved = await repo.withdraw(
        connection, order.work_order_id, status=status, reason=reason, at=at, only_from=only_from
    )
    if not moved:
        return False
    if tell is not None and tell.alarm is not None:
        assert at is not None, "dispatch withdrew it: when"
        alarm = tell.alarm
        await send_work_order(
            outbox,
            connection,
            work_order(
                order,
                alarm,
                accept_within_s=tell.accept_within_s,
                action=WorkOrderAction.withdraw,
                withdraw_reason=reason,
            ),
        )
        if tell.kind is None:
            return await _waits_again(connection, order)
        await send_notice(
            outbox,
            connection,
            notice(
                tell.kind,
                region=alarm.region,
                at=at,
                reason=tell.reason,
                alarm=alarm,
                unit_id=order.unit_id,
                platform_id=order.platform_id,
            ),
        )
    return await _waits_again(connection, order)


async def _waits_again(connection: asyncpg.Connection, order: OpenOrder) -> bool:
    if order.primary:
        await repo.set_alarm_state(
            connection, order.alarm_id, DispatchState.pending, only_from=(DispatchState.assigned,)
        )
    return True
