"""Dispatchers' commands from the console (`dispatch.commands`, issue 17), applied by the process
that holds the command's region, under the same rules as dispatch's own decisions: the region's
lease is checked in the command's transaction (decision 0032), a unit never holds two open work
orders (the partial unique indexes), and every change is written with its messages in one
transaction (the outbox). Each command is answered once, by command id, on
`dispatch.command_results`: done, or refused with a reason a person reads. A process that does
not hold the region says nothing: the holder answers.

Decision 0080 tells why commands go through Kafka rather than an HTTP call to dispatch."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import structlog

from kj_dispatch.adapters import commands as store
from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import WAITING, DispatchState
from kj_dispatch.domain.model import FleetUnit
from kj_dispatch.domain.workorder import OPEN, OpenOrder
from kj_dispatch.service_layer import telemetry
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.service_layer.messages import send_work_order, work_order
from kj_dispatch.service_layer.withdrawal import Tell, withdraw
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.commands import (
    CLOSED_BY_COMMAND_CENTRE,
    AddBackup,
    AssignUnit,
    CloseAlarm,
    CommandHandled,
    DispatchCommand,
    HoldAlarm,
    SetUnitDuty,
    WithdrawWorkOrder,
)
from kj_schemas.enums import (
    CommandOutcome,
    UnitDuty,
    WorkOrderAction,
    WorkOrderRole,
    WorkOrderStatus,
)
from kj_schemas.topics import DISPATCH_COMMAND_RESULTS

log = structlog.get_logger(__name__)

# what the database's last guard means for a person (the index that refused the insert)
_INDEX_REASONS = {
    "work_orders_one_open_per_unit": ("unit_busy", "the unit already holds an open work order"),
    "work_orders_one_open_primary_per_alarm": (
        "alarm_primary_changed",
        "the alarm got another primary unit meanwhile; look again",
    ),
}
_NOT_DONE = (*WAITING, DispatchState.held, DispatchState.assigned)


class Refused(Exception):
    """The command cannot be applied: nothing it wrote stays."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Applied:
    """What a command did: for its answer, and for the book once the transaction committed."""

    work_order_id: UUID | None = None
    replaced_work_order_id: UUID | None = None
    unit_id: str | None = None
    note: str | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


async def handle_commands(
    dispatcher: Dispatcher, commands: Sequence[DispatchCommand], *, max_age_s: float
) -> None:
    for command in commands:
        await handle_command(dispatcher, command, max_age_s=max_age_s)


async def handle_command(
    dispatcher: Dispatcher, command: DispatchCommand, *, max_age_s: float
) -> CommandHandled | None:
    """Apply (or refuse) one command and answer it; None when this process is not the one to
    answer (another holds the region, or it was answered before)."""
    epoch = dispatcher.leases.get(command.region)
    if epoch is None:
        return None
    now = dispatcher.clock()
    applied = Applied()
    async with dispatcher.pool.acquire() as connection, connection.transaction():
        if await repo.leases_lost(connection, {command.region: epoch}):
            return None  # the region moved on: its new holder answers
        if await store.handled_before(connection, command.command_id):
            return None
        try:
            age = (now - command.issued_at).total_seconds()
            if age > max_age_s:
                raise Refused(
                    "expired",
                    f"issued {age:.0f} s ago: older than {max_age_s:.0f} s, not applied",
                )
            async with connection.transaction():  # a refusal undoes this command's writes only
                await _apply(dispatcher, connection, command, now, applied)
        except Refused as refused:
            handled = _answer(command, now, applied, refused.reason, refused.detail)
        except asyncpg.UniqueViolationError as error:
            reason, detail = _INDEX_REASONS.get(
                getattr(error, "constraint_name", "") or "", ("refused_by_database", str(error))
            )
            handled = _answer(command, now, applied, reason, detail)
        else:
            handled = _answer(command, now, applied)
        await store.record(connection, command, handled, instance=dispatcher.instance)
        await dispatcher.outbox.put(
            connection, DISPATCH_COMMAND_RESULTS.name, command.region, handled
        )
    if handled.outcome is CommandOutcome.done:
        for step in applied.after:
            step()
    log.info(
        "command_handled",
        kind=str(command.command.kind),
        actor=command.actor,
        outcome=str(handled.outcome),
        reason=handled.reason,
    )
    return handled


def _answer(
    command: DispatchCommand,
    now: datetime,
    applied: Applied,
    reason: str | None = None,
    detail: str | None = None,
) -> CommandHandled:
    body = command.command
    return CommandHandled(
        command_id=command.command_id,
        kind=body.kind,
        region=command.region,
        actor=command.actor,
        outcome=CommandOutcome.refused if reason else CommandOutcome.done,
        reason=reason,
        detail=(detail or applied.note or "")[:200] or None,
        alarm_id=command.alarm_id,
        unit_id=applied.unit_id or command.unit_id,
        work_order_id=None if reason else applied.work_order_id,
        replaced_work_order_id=None if reason else applied.replaced_work_order_id,
        disposition_code=getattr(body, "disposition_code", None),
        duty=getattr(body, "duty", None),
        hold=getattr(body, "hold", None),
        handled_at=now,
    )


async def _apply(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    command: DispatchCommand,
    now: datetime,
    applied: Applied,
) -> None:
    body = command.command
    if isinstance(body, SetUnitDuty):
        await _set_duty(dispatcher, connection, command, body, applied)
        return
    alarm, state = await _open_alarm(dispatcher, connection, body.alarm_id, command.region)
    if isinstance(body, AssignUnit):
        await _assign(dispatcher, connection, alarm, body.unit_id, now, applied)
    elif isinstance(body, AddBackup):
        await _add_backup(dispatcher, connection, alarm, body.unit_id, now, applied)
    elif isinstance(body, WithdrawWorkOrder):
        await _withdraw(dispatcher, connection, alarm, body.work_order_id, now, applied)
    elif isinstance(body, CloseAlarm):
        await _close(dispatcher, connection, alarm, body.disposition_code, now, applied)
    elif isinstance(body, HoldAlarm):
        await _hold(dispatcher, connection, alarm, state, body.hold, applied)


async def _open_alarm(
    dispatcher: Dispatcher, connection: asyncpg.Connection, alarm_id: UUID, region: str
) -> tuple[AlarmAccepted, DispatchState]:
    row = await store.lock_alarm(connection, alarm_id)
    if row is None:
        raise Refused("unknown_alarm", f"dispatch has not received alarm {alarm_id}")
    if row["region"] != region:
        raise Refused("wrong_region", f"alarm {alarm_id} is of region {row['region']}")
    state = DispatchState(row["state"])
    if state is DispatchState.done:
        raise Refused("alarm_closed", f"alarm {alarm_id} is closed")
    alarm = dispatcher.book.alarm(alarm_id) or AlarmAccepted.model_validate_json(row["body"])
    return alarm, state


def _free_unit(dispatcher: Dispatcher, unit_id: str) -> FleetUnit:
    """The unit, if a dispatcher may send it now."""
    unit = dispatcher.fleet.units.get(unit_id)
    if unit is None:
        raise Refused("unknown_unit", f"no position of {unit_id} has been received")
    if unit.stood_down:
        raise Refused("unit_not_on_duty", f"{unit_id} was put off duty or out of service")
    if unit.commitment is not None or unit.held_elsewhere:
        raise Refused("unit_busy", f"{unit_id} already holds an open work order")
    if not unit.on_patrol:
        raise Refused(
            "unit_not_on_patrol", f"{unit_id} reports it cannot take a call (off duty or silent)"
        )
    return unit


def _issue(
    dispatcher: Dispatcher,
    unit: FleetUnit,
    alarm: AlarmAccepted,
    *,
    role: WorkOrderRole,
    reason: str,
    now: datetime,
) -> OpenOrder:
    estimate = dispatcher.fleet.index.eta.estimate(
        unit, alarm.location.lat, alarm.location.lon, now
    )
    if estimate is None:
        raise Refused(
            "unit_position_too_old", f"the last position of {unit.unit_id} is too old to send it"
        )
    elapsed = max((now - alarm.reported_at).total_seconds(), 0.0)
    return OpenOrder(
        work_order_id=uuid4(),
        alarm_id=alarm.alarm_id,
        unit_id=unit.unit_id,
        platform_id=unit.platform_id,
        role=role,
        status=WorkOrderStatus.assigned,
        priority=alarm.priority,
        issued_at=now,
        accept_by=now + timedelta(seconds=dispatcher.timings.accept_timeout_s),
        eta_s=estimate.seconds,
        reason=reason,
        at_risk=elapsed + estimate.seconds > alarm.target_seconds,
        region=alarm.region,
    )


async def _send(
    dispatcher: Dispatcher, connection: asyncpg.Connection, order: OpenOrder, alarm: AlarmAccepted
) -> None:
    await repo.insert_work_order(connection, order)
    await send_work_order(
        dispatcher.outbox,
        connection,
        work_order(order, alarm, accept_within_s=dispatcher.timings.accept_timeout_s),
    )


async def _assign(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    alarm: AlarmAccepted,
    unit_id: str,
    now: datetime,
    applied: Applied,
) -> None:
    current = await repo.open_primary(connection, alarm.alarm_id)
    if current is not None and current.unit_id == unit_id:
        raise Refused("already_assigned", f"{unit_id} is already the alarm's primary unit")
    unit = _free_unit(dispatcher, unit_id)
    order = _issue(
        dispatcher, unit, alarm, role=WorkOrderRole.primary, reason="dispatcher_assigned", now=now
    )
    if current is not None:
        tell = Tell(alarm, None, "reassigned_by_dispatcher", dispatcher.timings.accept_timeout_s)
        await withdraw(
            connection,
            dispatcher.outbox,
            current,
            reason="reassigned_by_dispatcher",
            at=now,
            only_from=OPEN,
            tell=tell,
        )
        applied.replaced_work_order_id = current.work_order_id
    await _send(dispatcher, connection, order, alarm)
    await repo.set_alarm_state(
        connection, alarm.alarm_id, DispatchState.assigned, only_from=_NOT_DONE
    )
    applied.work_order_id = order.work_order_id
    book = dispatcher.book

    def after() -> None:
        if current is not None:
            book.forget_order(book.order(current.work_order_id) or current)
            telemetry.lost("reassigned_by_dispatcher")
        book.keep(alarm)
        book.assigned(alarm.alarm_id, [order])
        telemetry.assigned(alarm, [order])

    applied.after.append(after)


async def _add_backup(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    alarm: AlarmAccepted,
    unit_id: str,
    now: datetime,
    applied: Applied,
) -> None:
    unit = _free_unit(dispatcher, unit_id)
    order = _issue(
        dispatcher, unit, alarm, role=WorkOrderRole.backup, reason="dispatcher_backup", now=now
    )
    await _send(dispatcher, connection, order, alarm)
    applied.work_order_id = order.work_order_id
    book = dispatcher.book

    def after() -> None:
        book.keep(alarm)
        book.remember(order)
        telemetry.assigned(alarm, [order])

    applied.after.append(after)


async def _withdraw(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    alarm: AlarmAccepted,
    work_order_id: UUID,
    now: datetime,
    applied: Applied,
) -> None:
    order = await store.open_order(connection, work_order_id)
    if order is None or order.alarm_id != alarm.alarm_id:
        detail = f"work order {work_order_id} of this alarm is not open"
        raise Refused("work_order_not_open", detail)
    tell = Tell(alarm, None, "withdrawn_by_dispatcher", dispatcher.timings.accept_timeout_s)
    await withdraw(
        connection,
        dispatcher.outbox,
        order,
        reason="withdrawn_by_dispatcher",
        at=now,
        only_from=OPEN,
        tell=tell,
    )
    applied.work_order_id = order.work_order_id
    applied.unit_id = order.unit_id
    book = dispatcher.book

    def after() -> None:
        book.keep(alarm)
        telemetry.lost("withdrawn_by_dispatcher")
        # the unit is not sent to this alarm again; a primary's alarm waits for the next one
        if book.requeue_after_losing(book.order(order.work_order_id) or order):
            dispatcher.wake.set()

    applied.after.append(after)


async def _close(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    alarm: AlarmAccepted,
    disposition: str,
    now: datetime,
    applied: Applied,
) -> None:
    orders = await store.open_orders_of(connection, alarm.alarm_id)
    for order in orders:
        await repo.update_work_order(
            connection,
            order.work_order_id,
            status=WorkOrderStatus.closed,
            closed_at=now,
            disposition_code=disposition,
        )
        await send_work_order(
            dispatcher.outbox,
            connection,
            work_order(
                order,
                alarm,
                accept_within_s=dispatcher.timings.accept_timeout_s,
                action=WorkOrderAction.withdraw,
                withdraw_reason=CLOSED_BY_COMMAND_CENTRE,
            ),
        )
    await repo.set_alarm_state(connection, alarm.alarm_id, DispatchState.done, only_from=_NOT_DONE)
    if orders:
        applied.note = f"{len(orders)} unit(s) told to stand down"
    book = dispatcher.book

    def after() -> None:
        for order in orders:
            book.forget_order(book.order(order.work_order_id) or order)
        book.forget_alarm(alarm.alarm_id)
        if book.waiting:
            dispatcher.wake.set()  # a unit may be free for a waiting alarm

    applied.after.append(after)


async def _hold(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    alarm: AlarmAccepted,
    state: DispatchState,
    hold: bool,
    applied: Applied,
) -> None:
    book = dispatcher.book
    if hold:
        if state is DispatchState.held:
            raise Refused("alarm_already_held", "the alarm is held already")
        if state not in WAITING:
            raise Refused("alarm_not_waiting", "only an alarm waiting for a unit can be held")
        await repo.set_alarm_state(
            connection, alarm.alarm_id, DispatchState.held, only_from=WAITING
        )

        def held() -> None:
            book.keep(alarm)
            book.hold(alarm.alarm_id)

        applied.after.append(held)
        return
    if state is not DispatchState.held:
        raise Refused("alarm_not_held", "the alarm is not held")
    await repo.set_alarm_state(
        connection, alarm.alarm_id, DispatchState.pending, only_from=(DispatchState.held,)
    )

    def released() -> None:
        book.receive(alarm)
        dispatcher.wake.set()

    applied.after.append(released)


async def _set_duty(
    dispatcher: Dispatcher,
    connection: asyncpg.Connection,
    command: DispatchCommand,
    body: SetUnitDuty,
    applied: Applied,
) -> None:
    if not await store.city_unit(connection, body.unit_id):
        raise Refused("unknown_unit", f"{body.unit_id} is not a unit of this city")
    await store.set_duty(connection, body.unit_id, body.duty, command.actor, command.command_id)
    unit = dispatcher.fleet.units.get(body.unit_id)
    if body.duty is not UnitDuty.on_duty and unit is not None and unit.commitment is not None:
        applied.note = f"{body.unit_id} keeps its open work order"
    fleet = dispatcher.fleet

    def after() -> None:
        down = set(fleet.stood_down)
        if body.duty is UnitDuty.on_duty:
            down.discard(body.unit_id)
        else:
            down.add(body.unit_id)
        if fleet.set_stood_down(down) and dispatcher.book.waiting:
            dispatcher.wake.set()

    applied.after.append(after)


async def refresh_duty(dispatcher: Dispatcher) -> None:
    """The duty dispatchers set, from PostgreSQL into the fleet (at a region's take-over and
    every reconcile interval: another process may have applied a command meanwhile)."""
    down = await store.stood_down(dispatcher.pool)
    if dispatcher.fleet.set_stood_down(down) and dispatcher.book.waiting:
        dispatcher.wake.set()
