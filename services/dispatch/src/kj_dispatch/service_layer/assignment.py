"""One alarm's part of a planned batch, written in the batch's transaction: its work orders (with
the preemptions they need), its state and its messages; or, when no unit can go now, its place
in the queue and the shortfall notice."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import WAITING, Book, DispatchState
from kj_dispatch.domain.model import Assignment
from kj_dispatch.domain.repositions import PATROL_RADIUS_M
from kj_dispatch.domain.workorder import WITHDRAWABLE, OpenOrder
from kj_dispatch.service_layer.messages import (
    notice,
    post_order,
    send_notice,
    send_work_order,
    work_order,
)
from kj_dispatch.service_layer.withdrawal import Tell, withdraw
from kj_runtime.outbox import Outbox
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.enums import NoticeKind, WorkOrderAction

# the database refused one alarm's work orders: a unit (or the alarm's primary) is held, or
# two dispatchers deadlocked on units; the alarm is planned again
REFUSED = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)


@dataclass
class BatchOutcome:
    """What one batch's transaction did, applied to the book once it has committed."""

    assigned: list[tuple[AlarmAccepted, list[OpenOrder], list[OpenOrder]]] = field(
        default_factory=list
    )
    taken: list[UUID] = field(default_factory=list)
    queued: list[tuple[AlarmAccepted, str, bool]] = field(default_factory=list)
    conflicts: list[tuple[AlarmAccepted, list[Assignment], asyncpg.PostgresError]] = field(
        default_factory=list
    )


class AlarmTaken(Exception):
    """The alarm is no longer waiting (another dispatcher assigned or closed it)."""


async def write_assignment(
    connection: asyncpg.Connection,
    outbox: Outbox,
    book: Book,
    alarm: AlarmAccepted,
    assignments: list[Assignment],
    *,
    issued_at: datetime,
    accept_within_s: int,
) -> tuple[list[OpenOrder], list[OpenOrder]]:
    """The alarm's new work orders and the ones withdrawn for them. Raises AlarmTaken when the
    alarm is no longer waiting, UniqueViolationError when a unit is held."""
    orders: list[OpenOrder] = []
    preempted: list[OpenOrder] = []
    accept_by = issued_at + timedelta(seconds=accept_within_s)
    for a in assignments:
        if a.option.preempts is not None:
            old = book.order(a.option.preempts.work_order_id)
            if old is not None and await _preempt(
                connection,
                outbox,
                book,
                old,
                by=alarm,
                at=issued_at,
                accept_within_s=accept_within_s,
            ):
                preempted.append(old)
        order = OpenOrder.issue(a, at=issued_at, accept_by=accept_by, region=alarm.region)
        assigns = not orders and order.primary  # the alarm is assigned by its primary's order
        superseded, moved = await repo.issue_work_order(connection, order, assigns_alarm=assigns)
        if assigns and not moved:
            raise AlarmTaken
        if superseded:
            await _withdraw_post(connection, outbox, book, order.unit_id, at=issued_at)
        await send_work_order(
            outbox, connection, work_order(order, alarm, accept_within_s=accept_within_s)
        )
        orders.append(order)
    primary = orders[0]
    if primary.primary and primary.at_risk:
        await send_notice(
            outbox,
            connection,
            notice(
                NoticeKind.at_risk,
                region=alarm.region,
                at=issued_at,
                reason="best_eta_exceeds_target",
                alarm=alarm,
                unit_id=primary.unit_id,
                platform_id=primary.platform_id,
                eta_s=primary.eta_s,
            ),
        )
    return orders, preempted


async def _withdraw_post(
    connection: asyncpg.Connection, outbox: Outbox, book: Book, unit_id: str, *, at: datetime
) -> None:
    """A call took a unit that patrols at a post or drives to one (its reposition ended with
    the call's order): the post's order is withdrawn in the same transaction (decision 0063);
    the book lets it go after the commit."""
    post = book.repositions.of(unit_id)
    if post is not None:
        withdraw = post_order(
            post,
            patrol_radius_m=PATROL_RADIUS_M,
            action=WorkOrderAction.withdraw,
            withdraw_reason="superseded_by_call",
            at=at,
        )
        await send_work_order(outbox, connection, withdraw)


async def _preempt(
    connection: asyncpg.Connection,
    outbox: Outbox,
    book: Book,
    old: OpenOrder,
    *,
    by: AlarmAccepted,
    at: datetime,
    accept_within_s: int,
) -> bool:
    """Withdraw `old`, a less urgent call's work order, for its unit to go to `by`."""
    why = f"taken_for_priority_{by.priority}"
    alarm = book.alarm(old.alarm_id) or await repo.alarm_body(connection, old.alarm_id)
    done = await withdraw(
        connection,
        outbox,
        old,
        reason="preempted",
        at=at,
        only_from=WITHDRAWABLE,
        tell=Tell(alarm, NoticeKind.preempted, why, accept_within_s),
    )
    if done and alarm is not None:
        book.keep(alarm)  # so that a preempted primary's alarm waits again
    return done


async def write_queued(
    connection: asyncpg.Connection,
    outbox: Outbox,
    alarm: AlarmAccepted,
    reason: str,
    at: datetime,
) -> bool:
    """No unit now: the alarm waits; the command centre hears why. False when the alarm is no
    longer waiting (another dispatcher assigned or closed it)."""
    moved = await repo.set_alarm_state(
        connection, alarm.alarm_id, DispatchState.queued, only_from=WAITING, reason=reason
    )
    if moved:
        await send_notice(
            outbox,
            connection,
            notice(NoticeKind.shortfall, region=alarm.region, at=at, reason=reason, alarm=alarm),
        )
    return moved
