"""A timely acceptance that arrived after the acceptance timer withdrew its work order (issue 14:
after a 12 s broker outage, eight officers who had said yes in time lost their jobs and were held
back five minutes). Judged by the gateway's receipt time, the unit gets the job back as a new
work order, already accepted; the alarm's current primary gives way if its unit has not
accepted yet (domain/workorder.py `restored_role`)."""

from dataclasses import replace
from datetime import datetime
from uuid import uuid4

import asyncpg

from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import DispatchState
from kj_dispatch.domain.workorder import UNACCEPTED, OpenOrder, restored_role
from kj_dispatch.service_layer.messages import send_work_order, work_order
from kj_dispatch.service_layer.withdrawal import Tell, withdraw
from kj_runtime.outbox import Outbox
from kj_schemas.enums import NoticeKind, WorkOrderRole, WorkOrderStatus
from kj_schemas.workorders import WorkOrderEvent


async def restore(
    connection: asyncpg.Connection,
    outbox: Outbox,
    withdrawn: asyncpg.Record,
    event: WorkOrderEvent,
    *,
    now: datetime,
    accept_within_s: int,
) -> OpenOrder | None:
    """In the event's transaction. None when the job cannot come back: the alarm is over, or
    the unit has another open work order by now."""
    alarm = await repo.alarm_body(connection, withdrawn["alarm_id"])
    if alarm is None or await repo.units_with_open_orders(connection, [event.unit_id]):
        return None
    if await repo.alarm_state(connection, alarm.alarm_id) == DispatchState.done:
        return None
    current = await repo.open_primary(connection, alarm.alarm_id)
    role, give_way = restored_role(current.status if current is not None else None)
    if give_way and current is not None:
        await withdraw(
            connection,
            outbox,
            current,
            reason="superseded_by_timely_accept",
            at=now,
            only_from=UNACCEPTED,
            tell=Tell(alarm, NoticeKind.preempted, "timely_accept_restored", accept_within_s),
        )
    old = repo.order_of(withdrawn)
    order = replace(
        old,
        work_order_id=uuid4(),
        role=role,
        status=WorkOrderStatus.accepted,
        issued_at=now,
        accept_by=now,
        reason="restored_timely_accept",
        region=alarm.region,
        timer_done=False,
    )
    await repo.insert_work_order(connection, order)
    await repo.update_work_order(
        connection, order.work_order_id, accepted_at=event.received_at or event.occurred_at
    )
    if role is WorkOrderRole.primary:
        await repo.set_alarm_state(
            connection,
            alarm.alarm_id,
            DispatchState.assigned,
            only_from=(DispatchState.pending, DispatchState.queued, DispatchState.assigned),
        )
    await send_work_order(
        outbox, connection, work_order(order, alarm, accept_within_s=accept_within_s)
    )
    return order
