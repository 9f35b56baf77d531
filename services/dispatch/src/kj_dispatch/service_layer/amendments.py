"""An alarm changed after it was accepted (an integration's update or cancel, issue 19): it comes
again on `alarms.accepted` with its `amendment`, on the same partition as the first, so the
process that holds its region applies it after the alarm itself (decision 0115).

- cancelled: every open work order is withdrawn (`alarm_cancelled`: each unit is told to stand
  down, as a dispatcher's withdrawal tells it) and the alarm is done;
- the scene moved beyond the set distance (`replan`): the work orders of units not yet on
  scene are withdrawn (`scene_moved`), and the call is planned again from its new place: the
  same unit may be sent again, with the new scene;
- the scene moved less (a correction): each unit on its way keeps the job and gets it again
  at the corrected place (its work order withdrawn as `scene_corrected` and a new one issued
  to the same unit in the same role, to be accepted again: terminals know no other way to
  learn a new scene);
- otherwise (a new priority or tier): the alarm's facts are replaced; a call still waiting is
  planned with them.

One transaction each, fenced by the region's lease, through the withdraw transaction that
preemption, time-outs and dispatchers' commands use (service_layer/withdrawal.py); the book
follows after the commit. A process that does not hold the region only stores the new facts
and keeps the amendment pending: the holder applies it through `amend` too, when it takes the
region over or at its next reconcile (`catch_up`, decision 0141)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import structlog

from kj_dispatch.adapters import amendments as store
from kj_dispatch.adapters import commands as orders_store
from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import DispatchState
from kj_dispatch.domain.workorder import OPEN, OpenOrder
from kj_dispatch.service_layer import telemetry
from kj_dispatch.service_layer.messages import send_work_order, work_order
from kj_dispatch.service_layer.ownership import Fenced
from kj_dispatch.service_layer.withdrawal import Tell, withdraw
from kj_runtime.idempotency import first_time
from kj_schemas.alarms import ALARM_CANCELLED, SCENE_CORRECTED, SCENE_MOVED, AlarmAccepted
from kj_schemas.enums import WorkOrderStatus

if TYPE_CHECKING:  # the dispatcher calls in here at take-over and reconcile
    from kj_dispatch.service_layer.dispatcher import Dispatcher

log = structlog.get_logger(__name__)

_NOT_DONE = (
    DispatchState.pending,
    DispatchState.queued,
    DispatchState.assigned,
    DispatchState.held,
)
# a unit on scene stays: it is where the incident is, and tells the command centre
_ON_THE_WAY = frozenset(OPEN - {WorkOrderStatus.on_scene})


async def amend_alarms(dispatcher: Dispatcher, alarms: Sequence[AlarmAccepted]) -> None:
    for alarm in alarms:
        await amend(dispatcher, alarm)


async def catch_up(dispatcher: Dispatcher, regions: Collection[str]) -> int:
    """The amendments a process that did not hold these regions read and only stored (a
    hand-over, a fenced replica), applied now that this one holds them, in the order they were
    read, each exactly as a live one (decision 0141). Returns how many were pending."""
    held = sorted(r for r in regions if r in dispatcher.leases)
    if not held:
        return 0
    async with dispatcher.pool.acquire() as connection:
        waiting = await store.pending(connection, held)
    await amend_alarms(dispatcher, waiting)
    if waiting:
        telemetry.caught_up(len(waiting))
    return len(waiting)


async def amend(dispatcher: Dispatcher, alarm: AlarmAccepted) -> None:
    amendment = alarm.amendment
    assert amendment is not None, "only amended alarms come here"
    now = dispatcher.clock()
    withdrawn: list[OpenOrder] = []
    reissued: list[OpenOrder] = []
    ours = alarm.region in dispatcher.leases
    try:
        async with dispatcher.pool.acquire() as connection, connection.transaction():
            if ours:
                await dispatcher.ownership.fence(connection)
            # seen before: done, or left pending by a process that did not hold the region
            if not await first_time(connection, repo.ALARMS_CONSUMER, alarm.message_id) and not (
                ours and await store.take_pending(connection, alarm.message_id)
            ):
                return
            row = await orders_store.lock_alarm(connection, alarm.alarm_id)
            if row is None or not await store.replace_facts(connection, alarm):
                log.warning("amendment_for_unknown_alarm", alarm_id=str(alarm.alarm_id))
                return
            if not ours:  # the region's holder applies it, at take-over or its reconcile
                await store.keep_pending(connection, alarm)
                return
            if DispatchState(row["state"]) is DispatchState.done:
                return  # a done alarm stays done
            if amendment.cancelled is not None:
                withdrawn = await _withdraw_all(
                    dispatcher, connection, alarm, now, ALARM_CANCELLED, OPEN
                )
                await repo.set_alarm_state(
                    connection, alarm.alarm_id, DispatchState.done, only_from=_NOT_DONE
                )
            elif amendment.replan:
                withdrawn = await _withdraw_all(
                    dispatcher, connection, alarm, now, SCENE_MOVED, _ON_THE_WAY
                )
            elif amendment.moved_m:
                withdrawn = await _withdraw_all(
                    dispatcher, connection, alarm, now, SCENE_CORRECTED, _ON_THE_WAY
                )
                reissued = await _send_again(dispatcher, connection, alarm, withdrawn, now)
    except Fenced as fenced:
        dispatcher.ownership.fenced(fenced)
        # not ours any more: kept for the region's new holder (once: the region is not held now)
        await amend(dispatcher, alarm)
        return
    book = dispatcher.book
    if amendment.cancelled is not None:
        book.cancelled(alarm.alarm_id, withdrawn)
        if book.waiting:
            dispatcher.wake.set()  # a unit stood down may be free for a waiting call
    else:
        waits = book.amend(alarm, withdrawn)
        for order in reissued:
            if order.primary:
                book.assigned(alarm.alarm_id, [order])
            else:
                book.remember(order)
        if waits and not reissued:
            dispatcher.wake.set()
    for _ in withdrawn:
        telemetry.lost(
            ALARM_CANCELLED
            if amendment.cancelled
            else SCENE_MOVED
            if amendment.replan
            else SCENE_CORRECTED
        )
    log.info(
        "alarm_amended",
        alarm_id=str(alarm.alarm_id),
        cancelled=str(amendment.cancelled) if amendment.cancelled else None,
        replan=amendment.replan,
        withdrawn=len(withdrawn),
        sent_again=len(reissued),
    )


async def _withdraw_all(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    alarm: AlarmAccepted,
    now: datetime,
    reason: str,
    statuses: frozenset[WorkOrderStatus],
) -> list[OpenOrder]:
    """Withdraw the alarm's open work orders in `statuses`, telling each unit why."""
    tell = Tell(alarm, None, reason, dispatcher.timings.accept_timeout_s)
    withdrawn = []
    for order in await orders_store.open_orders_of(connection, alarm.alarm_id):
        if order.status in statuses and await withdraw(
            connection,
            dispatcher.outbox,
            order,
            reason=reason,
            at=now,
            only_from=statuses,
            tell=tell,
        ):
            withdrawn.append(order)
    return withdrawn


async def _send_again(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    alarm: AlarmAccepted,
    withdrawn: list[OpenOrder],
    now: datetime,
) -> list[OpenOrder]:
    """Each withdrawn unit's job again at the corrected scene, with a fresh ETA (the one it had
    when its last position is too old to use)."""
    accept_s = dispatcher.timings.accept_timeout_s
    elapsed = max((now - alarm.reported_at).total_seconds(), 0.0)
    sent = []
    for order in withdrawn:
        unit = dispatcher.fleet.units.get(order.unit_id)
        estimate = (
            dispatcher.fleet.index.eta.estimate(unit, alarm.location.lat, alarm.location.lon, now)
            if unit is not None
            else None
        )
        eta_s = estimate.seconds if estimate is not None else order.eta_s
        again = order.corrected(
            at=now,
            accept_by=now + timedelta(seconds=accept_s),
            eta_s=eta_s,
            priority=alarm.priority,
            late=elapsed + eta_s > alarm.target_seconds,
        )
        await repo.insert_work_order(connection, again)
        await send_work_order(
            dispatcher.outbox, connection, work_order(again, alarm, accept_within_s=accept_s)
        )
        sent.append(again)
    if any(order.primary for order in sent):  # withdrawing the primary made it wait: it does not
        await repo.set_alarm_state(
            connection, alarm.alarm_id, DispatchState.assigned, only_from=(DispatchState.pending,)
        )
    return sent
