"""Dispatch's book: the alarms it holds open (waiting for a primary unit, queued with the reason
the command centre was told, or assigned), its open work orders, and the units that let an alarm
down. A cache for choosing: PostgreSQL is the truth, and the service layer brings the book in
step after each commit. The fleet hears of every work order the book takes on or lets go.
No Kafka, no SQL."""

from collections.abc import Mapping, Set
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.model import Call
from kj_dispatch.domain.repositions import Repositions
from kj_dispatch.domain.workorder import ENDING, OpenOrder
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.enums import WorkOrderEventKind, WorkOrderStatus


class DispatchState(StrEnum):
    """An alarm's state in dispatch (`dispatch_alarms.state`)."""

    pending = "pending"  # needs a primary unit
    queued = "queued"  # needs one, none can go now, and the command centre was told why
    assigned = "assigned"
    held = "held"  # a dispatcher keeps it from automatic assignment (issue 17)
    done = "done"  # its primary unit closed the job


WAITING = (DispatchState.pending, DispatchState.queued)


def call_of(alarm: AlarmAccepted) -> Call:
    """What the policy needs to know of an alarm."""
    return Call(
        alarm.alarm_id,
        alarm.location.lat,
        alarm.location.lon,
        alarm.priority,
        alarm.category,
        alarm.tier,
        float(alarm.target_seconds),
        alarm.reported_at,
    )


class Book:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        # the units free to go may have changed since the last coverage report
        self.coverage_dirty = True
        self._alarms: dict[UUID, AlarmAccepted] = {}  # open alarms: waiting or assigned
        self._waiting: set[UUID] = set()  # alarms that need a primary unit
        self._queued: dict[UUID, str] = {}  # waiting alarms with a shortfall notice sent
        self._orders: dict[UUID, OpenOrder] = {}
        self._excluded: dict[UUID, set[str]] = {}  # units that let an alarm down
        self.repositions = Repositions()  # the posts this process sent its units to
        self._planned: dict[UUID, int] = {}  # waiting alarm -> the pass that last planned it
        self._passes = 0

    # ---- reading ---------------------------------------------------------------------------

    @property
    def waiting(self) -> Set[UUID]:
        return self._waiting

    @property
    def queued(self) -> Mapping[UUID, str]:
        return self._queued

    @property
    def excluded(self) -> Mapping[UUID, set[str]]:
        """For each alarm, the units not to send to it again."""
        return self._excluded

    @property
    def orders(self) -> Mapping[UUID, OpenOrder]:
        return self._orders

    def alarm(self, alarm_id: UUID) -> AlarmAccepted | None:
        return self._alarms.get(alarm_id)

    def order(self, work_order_id: UUID) -> OpenOrder | None:
        return self._orders.get(work_order_id)

    def waiting_calls(self, *, limit: int | None = None) -> list[Call]:
        """The calls to plan in one pass: all of them, or the `limit` most urgent (priority
        first, then the one planned longest ago), so that a backlog of thousands costs a pass
        no more than `limit` calls and a new priority-1 call is always among them. Marks
        them planned."""
        if limit is None or len(self._waiting) <= limit:
            chosen = list(self._waiting)
        else:
            chosen = sorted(
                self._waiting,
                key=lambda a: (self._alarms[a].priority, self._planned.get(a, 0)),
            )[:limit]
        self._passes += 1
        for alarm_id in chosen:
            self._planned[alarm_id] = self._passes
        return [call_of(self._alarms[alarm_id]) for alarm_id in chosen]

    @property
    def unplanned(self) -> int:
        """Waiting calls no pass has planned yet (a burst over the limit): the planner goes on
        at once; the others wait for a unit to free up, or for the queue's retry."""
        return sum(1 for a in self._waiting if a not in self._planned)

    def told(self, alarm_id: UUID, reason: str) -> bool:
        """The command centre already heard that this alarm waits, for this reason."""
        return self._queued.get(alarm_id) == reason

    def unaccepted(self, now: datetime) -> list[OpenOrder]:
        """Work orders whose unit has not accepted them by their deadline."""
        return [order for order in self._orders.values() if order.unaccepted_at(now)]

    # ---- alarms ----------------------------------------------------------------------------

    def receive(self, alarm: AlarmAccepted) -> None:
        """A new alarm: it waits for a primary unit."""
        self._alarms[alarm.alarm_id] = alarm
        self._waiting.add(alarm.alarm_id)

    def restore(self, alarm: AlarmAccepted, state: DispatchState, reason: str | None) -> None:
        """An open alarm as PostgreSQL holds it, at restart."""
        self._alarms[alarm.alarm_id] = alarm
        if state in WAITING:
            self._waiting.add(alarm.alarm_id)
            if state == DispatchState.queued and reason:
                self._queued[alarm.alarm_id] = reason

    def keep(self, alarm: AlarmAccepted) -> None:
        """An alarm read back from PostgreSQL (one whose work order we hold)."""
        self._alarms[alarm.alarm_id] = alarm

    def hold(self, alarm_id: UUID) -> None:
        """A dispatcher holds the alarm: it stays open, and no planning pass takes it until it
        is released (`receive`) or a dispatcher assigns it."""
        self._waiting.discard(alarm_id)
        self._queued.pop(alarm_id, None)
        self._planned.pop(alarm_id, None)

    def queue(self, alarm_id: UUID, reason: str) -> None:
        """No unit can go now; the command centre was told `reason`."""
        self._queued[alarm_id] = reason

    def forget_alarm(self, alarm_id: UUID) -> None:
        """The alarm is done, or no longer ours to plan (another dispatcher took it)."""
        self._waiting.discard(alarm_id)
        self._queued.pop(alarm_id, None)
        self._alarms.pop(alarm_id, None)
        self._excluded.pop(alarm_id, None)
        self._planned.pop(alarm_id, None)

    # ---- work orders -----------------------------------------------------------------------

    def remember(self, order: OpenOrder) -> None:
        """A work order of ours, new or moved on: its unit is committed to it."""
        self._orders[order.work_order_id] = order
        self.fleet.commit(order.unit_id, order.commitment())

    def forget_order(self, order: OpenOrder) -> None:
        """The work order ended: its unit is free of it."""
        self._orders.pop(order.work_order_id, None)
        commitment = self.fleet.commitment_of(order.unit_id)
        if commitment is not None and commitment.work_order_id == order.work_order_id:
            self.fleet.release(order.unit_id)
        self.coverage_dirty = True

    def assigned(self, alarm_id: UUID, orders: list[OpenOrder]) -> None:
        """The alarm's work orders were issued: it waits no more."""
        for order in orders:
            self.remember(order)
        self._waiting.discard(alarm_id)
        self._queued.pop(alarm_id, None)
        self.coverage_dirty = True

    def requeue_after_losing(self, order: OpenOrder) -> bool:
        """`order` was withdrawn or declined: its unit is no longer ours and is not sent to the
        same alarm again. True when the alarm waits for a primary again (it lost its primary)."""
        self.forget_order(order)
        self._excluded.setdefault(order.alarm_id, set()).add(order.unit_id)
        if not order.primary or order.alarm_id not in self._alarms:
            return False
        self._waiting.add(order.alarm_id)
        self._queued.pop(order.alarm_id, None)
        return True

    def amend(self, alarm: AlarmAccepted, withdrawn: list[OpenOrder]) -> bool:
        """The alarm changed after it was accepted (an integration's update, decision 0115):
        its facts are the new ones, and the work orders withdrawn because the scene moved end
        without counting against their units (any may be sent again). True when the alarm
        waits for a primary unit (again)."""
        if alarm.alarm_id not in self._alarms:
            return False  # not an open alarm of ours
        self._alarms[alarm.alarm_id] = alarm
        for order in withdrawn:
            self.forget_order(self._orders.get(order.work_order_id, order))
            if order.primary:
                self._waiting.add(alarm.alarm_id)
                self._queued.pop(alarm.alarm_id, None)
                self._planned.pop(alarm.alarm_id, None)
        return alarm.alarm_id in self._waiting

    def cancelled(self, alarm_id: UUID, withdrawn: list[OpenOrder]) -> None:
        """The integration cancelled the alarm: its work orders ended, it is done."""
        for order in withdrawn:
            self.forget_order(self._orders.get(order.work_order_id, order))
        self.forget_alarm(alarm_id)

    # ---- regions -------------------------------------------------------------------------

    def take_region(
        self,
        alarms: list[tuple[AlarmAccepted, DispatchState, str | None]],
        orders: list[OpenOrder],
    ) -> None:
        """This process decides for a region from now on: its open alarms and work orders, as
        PostgreSQL holds them, come into the book."""
        for alarm, state, reason in alarms:
            self.restore(alarm, state, reason)
        for order in orders:
            self.remember(order)
        self.coverage_dirty = True

    def drop_region(self, region: str) -> int:
        """Another process decides for `region` now: its alarms and work orders leave the book;
        their units stay busy, held by the new owner. Returns how many alarms left."""
        gone = [a for a, alarm in self._alarms.items() if alarm.region == region]
        for alarm_id in gone:
            self.forget_alarm(alarm_id)
        for order in [o for o in self._orders.values() if o.region == region]:
            self.forget_order(order)
            self.fleet.hold_elsewhere(order.unit_id)
        self.repositions.drop_region(region)
        return len(gone)

    def leave_to_events(self, order: OpenOrder) -> None:
        """The acceptance timer found `order` answered (or ended elsewhere) in PostgreSQL: the
        unit's events will tell; the timer does not look at it again."""
        order.timer_done = True

    def answered(
        self,
        work_order_id: UUID,
        unit_id: str,
        kind: WorkOrderEventKind,
        status: WorkOrderStatus | None,
    ) -> OpenOrder | None:
        """A unit's answer (or its arrival seen by GPS), once its transaction committed; `status`
        is the work order's new status, None when the answer did not apply (a repeat, or one
        another dispatcher applied). Returns our work order when the unit declined it."""
        self.fleet.answered(unit_id)
        order = self._orders.get(work_order_id)
        if kind not in ENDING:
            if order is not None and status is not None:
                order.status = status
                self.remember(order)
            return None
        if order is None:
            if unit_id in self.fleet.held_elsewhere:
                # another dispatcher's work order ended: the unit is free again
                self.fleet.release(unit_id)
            return None
        self.forget_order(order)
        if kind is WorkOrderEventKind.rejected:
            self.requeue_after_losing(order)
            return order
        if order.primary:
            self.forget_alarm(order.alarm_id)
        return None
