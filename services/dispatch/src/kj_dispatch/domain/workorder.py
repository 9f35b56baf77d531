"""A work order's life: the statuses it passes through, which answers of its unit move it where,
and the open work order as dispatch keeps it in mind. No Kafka, no SQL."""

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID, uuid4

from kj_dispatch.domain.model import Assignment, Commitment
from kj_schemas.enums import EventSource, WorkOrderEventKind, WorkOrderRole, WorkOrderStatus

_S = WorkOrderStatus
OPEN = frozenset({_S.assigned, _S.accepted, _S.en_route, _S.on_scene})
# taken back for a more urgent call, or declined by its unit, until the unit is on scene
WITHDRAWABLE = frozenset({_S.assigned, _S.accepted, _S.en_route})
UNACCEPTED = frozenset({_S.assigned})  # the acceptance timeout withdraws only these

# each answer of a unit (or its arrival seen by GPS): the statuses it applies from, and the one
# it moves the work order to. An arrival may repeat (GPS after the button), nothing else does.
_MOVES: dict[WorkOrderEventKind, tuple[frozenset[WorkOrderStatus], WorkOrderStatus]] = {
    WorkOrderEventKind.accepted: (UNACCEPTED, _S.accepted),
    WorkOrderEventKind.en_route: (frozenset({_S.assigned, _S.accepted}), _S.en_route),
    WorkOrderEventKind.on_scene: (OPEN, _S.on_scene),
    WorkOrderEventKind.closed: (OPEN, _S.closed),
    WorkOrderEventKind.rejected: (WITHDRAWABLE, _S.rejected),
}
ENDING = frozenset({WorkOrderEventKind.closed, WorkOrderEventKind.rejected})


def after(status: WorkOrderStatus, kind: WorkOrderEventKind) -> WorkOrderStatus | None:
    """The status an answer moves a work order to; None when it does not apply (the order was
    withdrawn or ended already, or the answer came out of order)."""
    before, to = _MOVES[kind]
    return to if status in before else None


def timely_after_timeout(
    *,
    status: WorkOrderStatus,
    withdraw_reason: str | None,
    accept_by: datetime,
    received_at: datetime,
) -> bool:
    """An acceptance that reached the gateway by the deadline, for a work order the acceptance
    timer withdrew meanwhile (the answer was held up on its way: a broker outage, a slow
    link). The officer said yes in time: the job is restored to the unit, not lost."""
    return (
        status == _S.withdrawn and withdraw_reason == "accept_timeout" and received_at <= accept_by
    )


def restored_role(current_primary: WorkOrderStatus | None) -> tuple[WorkOrderRole, bool]:
    """The role a timely acceptance comes back in, and whether the alarm's current primary
    gives way: none open, or not accepted yet: the unit that said yes first is the primary
    again (the other is withdrawn); one already accepted: both go, the restored one as backup."""
    if current_primary is None:
        return WorkOrderRole.primary, False
    if current_primary in UNACCEPTED:
        return WorkOrderRole.primary, True
    return WorkOrderRole.backup, False


def arrival_source(source: EventSource) -> EventSource:
    """Where an arrival came from, as recorded: GPS, or else the terminal's button."""
    return EventSource.gps if source is EventSource.gps else EventSource.terminal


def arrival_counts(*, first: bool, recorded: str | None, source: EventSource) -> bool:
    """GPS first, the terminal's button as fallback: the first arrival counts, and a GPS
    arrival replaces a button press (`recorded`), never the other way round."""
    return first or (recorded == EventSource.terminal and source is EventSource.gps)


@dataclass(slots=True)
class OpenOrder:
    """One of our open work orders, as much as dispatch needs to keep it in mind."""

    work_order_id: UUID
    alarm_id: UUID
    unit_id: str
    platform_id: str
    role: WorkOrderRole
    status: WorkOrderStatus
    priority: int
    issued_at: datetime
    accept_by: datetime
    eta_s: float
    reason: str
    at_risk: bool
    runner_up_unit_id: str | None = None
    runner_up_eta_s: float | None = None
    region: str = ""  # its alarm's: the dispatch process that holds the region decides for it
    # the acceptance timer found it answered meanwhile (or ended by another dispatcher): the
    # unit's events will tell, the timer does not look at it again
    timer_done: bool = False

    @classmethod
    def issue(
        cls, a: Assignment, *, at: datetime, accept_by: datetime, region: str = ""
    ) -> "OpenOrder":
        """A new work order for one assignment of the policy, issued `at`."""
        return cls(
            work_order_id=uuid4(),
            alarm_id=a.call.alarm_id,
            unit_id=a.option.unit_id,
            platform_id=a.option.platform_id,
            role=WorkOrderRole(a.role),
            status=_S.assigned,
            priority=a.call.priority,
            issued_at=at,
            accept_by=accept_by,
            eta_s=a.option.eta_s,
            reason=a.reason,
            at_risk=a.at_risk,
            runner_up_unit_id=a.runner_up.unit_id if a.runner_up else None,
            runner_up_eta_s=a.runner_up.eta_s if a.runner_up else None,
            region=region,
        )

    def corrected(
        self, *, at: datetime, accept_by: datetime, eta_s: float, priority: int, late: bool
    ) -> "OpenOrder":
        """The same unit's job again, at the scene the integration corrected (decision 0115):
        a new work order in the same role, to be accepted again; `late` when the new ETA
        misses the tier's target."""
        return replace(
            self,
            work_order_id=uuid4(),
            status=_S.assigned,
            priority=priority,
            issued_at=at,
            accept_by=accept_by,
            eta_s=eta_s,
            reason="scene_corrected",
            at_risk=late,
            runner_up_unit_id=None,
            runner_up_eta_s=None,
            timer_done=False,
        )

    @property
    def primary(self) -> bool:
        return self.role == WorkOrderRole.primary

    def commitment(self) -> Commitment:
        """What the order makes its unit, for the policy (may it be preempted?)."""
        return Commitment(self.work_order_id, self.alarm_id, self.priority, self.role, self.status)

    def unaccepted_at(self, now: datetime) -> bool:
        """Still not accepted when its deadline has passed (and not looked at before)."""
        return self.status == _S.assigned and not self.timer_done and self.accept_by <= now
