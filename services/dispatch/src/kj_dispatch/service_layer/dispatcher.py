"""The dispatcher: dispatch's state in memory (alarms waiting, open work orders, the fleet) and
the handlers that change it. Every change is written to PostgreSQL first, with the messages it
sends in the same transaction (the outbox); memory follows only after the commit."""

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import structlog

from kj_dispatch import metrics
from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.coverage import PlatformArea, coverage_gaps
from kj_dispatch.domain.eta import EtaModel
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.model import Assignment, Call, Commitment
from kj_dispatch.domain.plans import ResponsePlans
from kj_dispatch.domain.policy import PolicyParams, decide
from kj_dispatch.service_layer.messages import OpenOrder, notice, work_order
from kj_runtime.outbox import Outbox
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import utcnow
from kj_schemas.enums import NoticeKind, WorkOrderAction
from kj_schemas.topics import DISPATCH_NOTICES, DISPATCH_WORKORDERS
from kj_schemas.tracking import UnitState

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Timings:
    accept_timeout_s: int = 30
    unresponsive_hold_s: float = 300.0


# the database refused one alarm's work orders: a unit (or the alarm's primary) is held, or
# two dispatchers deadlocked on units; the alarm is planned again
_REFUSED = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)


class _AlarmTaken(Exception):
    """The alarm is no longer waiting (another dispatcher assigned or closed it)."""


@dataclass
class _BatchOutcome:
    """What one batch's transaction did, applied to memory once it has committed."""

    assigned: list[tuple[AlarmAccepted, list[OpenOrder], list[OpenOrder]]] = field(
        default_factory=list
    )
    taken: list[UUID] = field(default_factory=list)
    queued: list[tuple[AlarmAccepted, str, bool]] = field(default_factory=list)
    conflicts: list[tuple[AlarmAccepted, list[Assignment], asyncpg.PostgresError]] = field(
        default_factory=list
    )


class Dispatcher:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        outbox: Outbox,
        fleet: Fleet,
        eta: EtaModel,
        plans: ResponsePlans,
        policy: PolicyParams,
        timings: Timings,
        areas: Sequence[PlatformArea] = (),
        region: str = "unknown",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.fleet = fleet
        self.eta = eta
        self.plans = plans
        self.policy = policy
        self.timings = timings
        self.areas = list(areas)
        self.region = region
        self.clock = clock
        self.alarms: dict[UUID, AlarmAccepted] = {}  # open alarms: waiting or assigned
        self.waiting: set[UUID] = set()  # alarms that need a primary unit
        self.queued: dict[UUID, str] = {}  # waiting alarms with a shortfall notice sent
        self.orders: dict[UUID, OpenOrder] = {}
        self.excluded: dict[UUID, set[str]] = {}  # units that let an alarm down
        self.wake = asyncio.Event()
        self.fleet_ready = asyncio.Event()
        self.coverage_dirty = True
        self._gaps: set[str] = set()
        # when the first alarm still waiting for the planner reached us (monotonic seconds):
        # the batch window runs from there, so recording the alarm is not paid on top of it
        self.batch_opened_at: float | None = None

    # ---- restart --------------------------------------------------------------------------

    async def recover(self) -> None:
        """Rebuild waiting alarms and open work orders from PostgreSQL."""
        async with self.pool.acquire() as connection:
            alarms = await repo.open_alarms(connection)
            orders = await repo.open_work_orders(connection)
        for alarm, state, reason in alarms:
            self.alarms[alarm.alarm_id] = alarm
            if state in ("pending", "queued"):
                self.waiting.add(alarm.alarm_id)
                if state == "queued" and reason:
                    self.queued[alarm.alarm_id] = reason
        for row in orders:
            order = OpenOrder(
                work_order_id=row["work_order_id"],
                alarm_id=row["alarm_id"],
                unit_id=row["unit_id"],
                platform_id=row["platform_id"],
                role=row["role"],
                status=row["status"],
                priority=row["priority"] or 4,
                issued_at=row["issued_at"],
                accept_by=row["accept_by"],
                eta_s=row["eta_seconds"],
                reason=row["reason"],
                at_risk=row["at_risk"],
                runner_up_unit_id=row["runner_up_unit_id"],
                runner_up_eta_s=row["runner_up_eta_seconds"],
            )
            self._remember(order)
        metrics.QUEUED_ALARMS.set(len(self.queued))
        log.info("dispatch_recovered", waiting=len(self.waiting), open_orders=len(self.orders))
        if self.waiting:
            self.wake.set()

    # ---- inputs ---------------------------------------------------------------------------

    async def receive_alarms(self, alarms: Sequence[AlarmAccepted]) -> int:
        """Record alarms as received (idempotent by message id); the planner takes them."""
        arrived = time.monotonic()
        async with self.pool.acquire() as connection, connection.transaction():
            new = await repo.record_received(connection, alarms)
        for alarm in new:
            self.alarms[alarm.alarm_id] = alarm
            self.waiting.add(alarm.alarm_id)
        if new:
            if self.batch_opened_at is None:
                self.batch_opened_at = arrived
            self.wake.set()
        return len(new)

    def on_unit_state(self, state: UnitState) -> None:
        freed = self.fleet.update(
            unit_id=state.unit_id,
            platform_id=state.platform_id,
            kind=state.kind,
            status=state.status,
            lat=state.lat,
            lon=state.lon,
            fix_at=state.fix_at,
            last_seen_at=state.last_seen_at,
        )
        if freed:
            self.coverage_dirty = True
            if self.waiting:
                self.wake.set()

    # ---- planning -------------------------------------------------------------------------

    def _call(self, alarm: AlarmAccepted) -> Call:
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

    async def plan_once(self) -> None:
        """Decide every waiting alarm together, then write the whole batch in one transaction
        (one commit, however many alarms), each alarm in its own savepoint so that a unit taken
        by another dispatcher undoes only that alarm's work orders. Memory follows the commit."""
        if not self.waiting:
            return
        started = time.perf_counter()
        now = self.clock()
        self.batch_opened_at = None  # alarms recorded from here on make the next batch
        self.fleet.refresh_index(time.monotonic())
        calls = [self._call(self.alarms[alarm_id]) for alarm_id in self.waiting]
        decision = decide(
            calls,
            index=self.fleet.index,
            plans=self.plans,
            now=now,
            params=self.policy,
            excluded=self.excluded,
        )
        metrics.PLAN_SECONDS.observe(time.perf_counter() - started)
        by_alarm: dict[UUID, list[Assignment]] = {}
        for assignment in decision.assignments:
            by_alarm.setdefault(assignment.call.alarm_id, []).append(assignment)
        shortfalls = [
            (self.alarms[s.call.alarm_id], s.reason)
            for s in decision.shortfalls
            if self.queued.get(s.call.alarm_id) != s.reason  # told once per reason
        ]
        if not by_alarm and not shortfalls:
            metrics.QUEUED_ALARMS.set(len(self.queued))
            return
        outcome = _BatchOutcome()
        alone = len(by_alarm) + len(shortfalls) == 1  # nothing else to keep: no savepoint
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                for alarm_id, assignments in by_alarm.items():
                    alarm = self.alarms[alarm_id]
                    try:
                        async with nullcontext() if alone else connection.transaction():
                            orders, preempted = await self._write_assignment(
                                connection, alarm, assignments, now
                            )
                    except _REFUSED as error:
                        if alone:
                            raise
                        outcome.conflicts.append((alarm, assignments, error))
                    except _AlarmTaken:
                        if alone:
                            raise
                        outcome.taken.append(alarm_id)
                    else:
                        outcome.assigned.append((alarm, orders, preempted))
                for alarm, reason in shortfalls:
                    moved = await self._write_queued(connection, alarm, reason, now)
                    outcome.queued.append((alarm, reason, moved))
        except _REFUSED as error:  # the batch's one alarm: its transaction rolled back
            ((alarm_id, assignments),) = by_alarm.items()
            outcome = _BatchOutcome(conflicts=[(self.alarms[alarm_id], assignments, error)])
        except _AlarmTaken:
            outcome = _BatchOutcome(taken=list(by_alarm))
        for alarm, orders, preempted in outcome.assigned:
            self._assigned(alarm, orders, preempted)
        for alarm_id in outcome.taken:
            self._forget_alarm(alarm_id)
        for alarm, reason, moved in outcome.queued:
            self._queued(alarm, reason, moved)
        for alarm, assignments, refused in outcome.conflicts:
            await self._conflict(alarm, assignments, refused)
        metrics.QUEUED_ALARMS.set(len(self.queued))

    async def _write_assignment(
        self,
        connection: asyncpg.Connection,
        alarm: AlarmAccepted,
        assignments: list[Assignment],
        now: datetime,
    ) -> tuple[list[OpenOrder], list[OpenOrder]]:
        """One alarm's work orders, preemptions, state and messages; raises _AlarmTaken when
        the alarm is no longer waiting, UniqueViolationError when a unit is held."""
        orders: list[OpenOrder] = []
        preempted: list[OpenOrder] = []
        # issued when written, not when decided: a unit freed by another dispatcher
        # between the two must not look held twice in the work orders' history
        now = max(now, self.clock())
        accept_by = now + timedelta(seconds=self.timings.accept_timeout_s)
        for a in assignments:
            if a.option.preempts is not None:
                old = self.orders.get(a.option.preempts.work_order_id)
                if old is not None and await self._preempt(connection, old, alarm, now):
                    preempted.append(old)
            order = OpenOrder(
                work_order_id=uuid4(),
                alarm_id=alarm.alarm_id,
                unit_id=a.option.unit_id,
                platform_id=a.option.platform_id,
                role=a.role,
                status="assigned",
                priority=alarm.priority,
                issued_at=now,
                accept_by=accept_by,
                eta_s=a.option.eta_s,
                reason=a.reason,
                at_risk=a.at_risk,
                runner_up_unit_id=a.runner_up.unit_id if a.runner_up else None,
                runner_up_eta_s=a.runner_up.eta_s if a.runner_up else None,
            )
            await repo.insert_work_order(
                connection,
                work_order_id=order.work_order_id,
                alarm_id=alarm.alarm_id,
                unit_id=order.unit_id,
                platform_id=order.platform_id,
                role=order.role,
                status="assigned",
                eta_seconds=order.eta_s,
                reason=order.reason,
                runner_up_unit_id=order.runner_up_unit_id,
                runner_up_eta_seconds=order.runner_up_eta_s,
                at_risk=order.at_risk,
                issued_at=now,
                accept_by=accept_by,
            )
            await self.outbox.put(
                connection,
                DISPATCH_WORKORDERS.name,
                order.unit_id,
                work_order(order, alarm, accept_within_s=self.timings.accept_timeout_s),
            )
            orders.append(order)
        primary = orders[0]
        if primary.role == "primary":
            moved = await repo.set_alarm_state(
                connection, alarm.alarm_id, "assigned", only_from=("pending", "queued")
            )
            if not moved:
                raise _AlarmTaken
            if primary.at_risk:
                await self.outbox.put(
                    connection,
                    DISPATCH_NOTICES.name,
                    alarm.region,
                    notice(
                        NoticeKind.at_risk,
                        region=alarm.region,
                        at=now,
                        reason="best_eta_exceeds_target",
                        alarm=alarm,
                        unit_id=primary.unit_id,
                        platform_id=primary.platform_id,
                        eta_s=primary.eta_s,
                    ),
                )
        return orders, preempted

    def _assigned(
        self, alarm: AlarmAccepted, orders: list[OpenOrder], preempted: list[OpenOrder]
    ) -> None:
        """Memory after the commit: the orders are ours, the preempted calls wait again."""
        for old in preempted:
            self._requeue_after_losing(old, reason="preempted")
        for order in orders:
            self._remember(order)
            metrics.ASSIGNMENTS_TOTAL.labels(order.role, order.reason).inc()
        self.waiting.discard(alarm.alarm_id)
        self.queued.pop(alarm.alarm_id, None)
        self.coverage_dirty = True
        if orders[0].at_risk:
            metrics.AT_RISK_TOTAL.labels(str(alarm.tier)).inc()
        metrics.PLATFORM_SHARE_SECONDS.labels(str(alarm.tier)).observe(
            max((orders[0].issued_at - alarm.received_at).total_seconds(), 0.0)
        )
        log.info(
            "alarm_assigned",
            alarm_id=str(alarm.alarm_id),
            units=[o.unit_id for o in orders],
            reason=orders[0].reason,
            eta_s=round(orders[0].eta_s, 1),
            at_risk=orders[0].at_risk,
        )

    async def _preempt(
        self, connection: asyncpg.Connection, old: OpenOrder, by: AlarmAccepted, now: datetime
    ) -> bool:
        """Withdraw `old` (a less urgent call's work order) inside the caller's transaction."""
        if not await repo.withdraw(connection, old.work_order_id, reason="preempted", at=now):
            return False
        old_alarm = self.alarms.get(old.alarm_id) or await repo.alarm_body(connection, old.alarm_id)
        if old_alarm is None:
            return True
        self.alarms[old_alarm.alarm_id] = old_alarm
        await self.outbox.put(
            connection,
            DISPATCH_WORKORDERS.name,
            old.unit_id,
            work_order(
                old,
                old_alarm,
                accept_within_s=self.timings.accept_timeout_s,
                action=WorkOrderAction.withdraw,
                withdraw_reason="preempted",
            ),
        )
        if old.role == "primary":
            await repo.set_alarm_state(connection, old.alarm_id, "pending", only_from=("assigned",))
        await self.outbox.put(
            connection,
            DISPATCH_NOTICES.name,
            old_alarm.region,
            notice(
                NoticeKind.preempted,
                region=old_alarm.region,
                at=now,
                reason=f"taken_for_priority_{by.priority}",
                alarm=old_alarm,
                unit_id=old.unit_id,
                platform_id=old.platform_id,
            ),
        )
        return True

    async def _conflict(
        self,
        alarm: AlarmAccepted,
        assignments: list[Assignment],
        error: asyncpg.PostgresError,
    ) -> None:
        """The database refused: a unit already holds an open work order (another dispatcher
        took it), or the alarm already has its primary (or two dispatchers deadlocked on
        units). Treat the held units as busy and re-plan."""
        metrics.UNIT_CONFLICTS_TOTAL.inc()
        if getattr(error, "constraint_name", "") == "work_orders_one_open_primary_per_alarm":
            self._forget_alarm(alarm.alarm_id)
            return
        async with self.pool.acquire() as connection:
            held = await repo.units_with_open_orders(
                connection, [a.option.unit_id for a in assignments]
            )
        for unit_id in held:
            if self.fleet.commitment_of(unit_id) is None:
                self.fleet.hold_elsewhere(unit_id)
        log.info("unit_conflict_replan", alarm_id=str(alarm.alarm_id), units=sorted(held))
        self.wake.set()

    async def _write_queued(
        self, connection: asyncpg.Connection, alarm: AlarmAccepted, reason: str, now: datetime
    ) -> bool:
        """No unit now: the alarm waits; the command centre hears why. False when the alarm
        is no longer waiting (another dispatcher assigned or closed it)."""
        moved = await repo.set_alarm_state(
            connection, alarm.alarm_id, "queued", only_from=("pending", "queued"), reason=reason
        )
        if moved:
            await self.outbox.put(
                connection,
                DISPATCH_NOTICES.name,
                alarm.region,
                notice(
                    NoticeKind.shortfall, region=alarm.region, at=now, reason=reason, alarm=alarm
                ),
            )
        return moved

    def _queued(self, alarm: AlarmAccepted, reason: str, moved: bool) -> None:
        if not moved:
            self._forget_alarm(alarm.alarm_id)
            return
        self.queued[alarm.alarm_id] = reason
        metrics.SHORTFALLS_TOTAL.labels(reason).inc()
        log.info("alarm_queued", alarm_id=str(alarm.alarm_id), reason=reason)

    # ---- memory bookkeeping -------------------------------------------------------------

    def _remember(self, order: OpenOrder) -> None:
        self.orders[order.work_order_id] = order
        self.fleet.commit(
            order.unit_id,
            Commitment(
                order.work_order_id, order.alarm_id, order.priority, order.role, order.status
            ),
        )

    def _forget_order(self, order: OpenOrder) -> None:
        self.orders.pop(order.work_order_id, None)
        if (
            c := self.fleet.commitment_of(order.unit_id)
        ) and c.work_order_id == order.work_order_id:
            self.fleet.release(order.unit_id)
        self.coverage_dirty = True

    def _forget_alarm(self, alarm_id: UUID) -> None:
        self.waiting.discard(alarm_id)
        self.queued.pop(alarm_id, None)
        self.alarms.pop(alarm_id, None)
        self.excluded.pop(alarm_id, None)

    def _requeue_after_losing(self, order: OpenOrder, *, reason: str) -> None:
        """`order` was withdrawn: its unit is no longer ours; a primary's alarm waits again."""
        self._forget_order(order)
        metrics.WITHDRAWALS_TOTAL.labels(reason).inc()
        self.excluded.setdefault(order.alarm_id, set()).add(order.unit_id)
        if order.role == "primary" and order.alarm_id in self.alarms:
            self.waiting.add(order.alarm_id)
            self.queued.pop(order.alarm_id, None)
            self.wake.set()

    # ---- timers ---------------------------------------------------------------------------

    async def expire_unaccepted(self) -> int:
        """Withdraw work orders not accepted in time; mark their units unresponsive."""
        now = self.clock()
        expired = [o for o in self.orders.values() if o.status == "assigned" and o.accept_by <= now]
        for order in expired:
            alarm = self.alarms.get(order.alarm_id)
            async with self.pool.acquire() as connection, connection.transaction():
                done = await repo.withdraw(
                    connection,
                    order.work_order_id,
                    reason="accept_timeout",
                    at=now,
                    only_from=("assigned",),
                )
                if done and alarm is not None:
                    await self.outbox.put(
                        connection,
                        DISPATCH_WORKORDERS.name,
                        order.unit_id,
                        work_order(
                            order,
                            alarm,
                            accept_within_s=self.timings.accept_timeout_s,
                            action=WorkOrderAction.withdraw,
                            withdraw_reason="accept_timeout",
                        ),
                    )
                    await self.outbox.put(
                        connection,
                        DISPATCH_NOTICES.name,
                        alarm.region,
                        notice(
                            NoticeKind.unresponsive_unit,
                            region=alarm.region,
                            at=now,
                            reason="not_accepted_in_time",
                            alarm=alarm,
                            unit_id=order.unit_id,
                            platform_id=order.platform_id,
                        ),
                    )
                    if order.role == "primary":
                        await repo.set_alarm_state(
                            connection, order.alarm_id, "pending", only_from=("assigned",)
                        )
            if done:
                self._requeue_after_losing(order, reason="accept_timeout")
                self.fleet.mark_unresponsive(
                    order.unit_id, now + timedelta(seconds=self.timings.unresponsive_hold_s)
                )
                log.info("work_order_not_accepted", unit_id=order.unit_id)
            else:  # answered meanwhile or closed by someone else: the events will tell
                order.status = "answered"
        return len(expired)

    async def report_coverage(self) -> list[str]:
        """Tell the command centre about platforms newly left uncovered, with a move-up."""
        now = self.clock()
        free: dict[str, int] = {area.platform_id: 0 for area in self.areas}
        for unit in self.fleet:
            if unit.dispatchable(now):
                free[unit.platform_id] = free.get(unit.platform_id, 0) + 1
        for platform_id, count in free.items():
            metrics.UNITS_AVAILABLE.labels(platform_id).set(count)
        if not self.coverage_dirty or not self.areas or not self.fleet_ready.is_set():
            return []
        self.coverage_dirty = False
        gaps = coverage_gaps(self.areas, self.fleet, self.eta, now)
        new = [gap for gap in gaps if gap.platform_id not in self._gaps]
        if new:
            region = self.region
            async with self.pool.acquire() as connection, connection.transaction():
                for gap in new:
                    await self.outbox.put(
                        connection,
                        DISPATCH_NOTICES.name,
                        region,
                        notice(
                            NoticeKind.coverage_gap,
                            region=region,
                            at=now,
                            reason="no_unit_within_target",
                            platform_id=gap.platform_id,
                            suggested_unit_id=gap.suggested_unit_id,
                            suggested_platform_id=gap.suggested_from_platform_id,
                            eta_s=gap.best_eta_s,
                            target_s=int(gap.target_s),
                        ),
                    )
        self._gaps = {gap.platform_id for gap in gaps}
        return [gap.platform_id for gap in new]
