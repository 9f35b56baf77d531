"""The dispatcher: the handlers that change dispatch's book (domain/book.py) of open alarms and
work orders. Every change is written to PostgreSQL first, with the messages it sends in the same
transaction (the outbox); the book follows only after the commit."""

import asyncio
import time
from collections.abc import Callable, Sequence, Set
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import Book
from kj_dispatch.domain.coverage import PlatformArea
from kj_dispatch.domain.eta import EtaModel
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.model import Assignment
from kj_dispatch.domain.plans import ResponsePlans
from kj_dispatch.domain.policy import PolicyParams, decide
from kj_dispatch.domain.repositions import OpenReposition
from kj_dispatch.domain.workorder import OpenOrder
from kj_dispatch.service_layer import acceptance, telemetry
from kj_dispatch.service_layer.amendments import catch_up
from kj_dispatch.service_layer.assignment import (
    REFUSED,
    AlarmTaken,
    BatchOutcome,
    write_assignment,
    write_queued,
)
from kj_dispatch.service_layer.coverage_report import CoverageReport
from kj_dispatch.service_layer.ownership import Fenced, Ownership
from kj_runtime.consume import ReadUpTo
from kj_runtime.outbox import Outbox
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import utcnow
from kj_schemas.tracking import UnitState


@dataclass(frozen=True)
class Timings:
    accept_timeout_s: int = 30
    unresponsive_hold_s: float = 300.0
    # how long an answer the gateway took may take to be readable on workorders.events (the
    # notify outbox relay): a deadline is judged only once the answers are read this far past it
    answers_grace_s: float = 2.0


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
        instance: str = "dispatch",
        max_calls_per_pass: int = 128,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.fleet = fleet
        self.plans = plans
        self.policy = policy
        self.timings = timings
        self.clock = clock
        self.instance = instance
        self.max_calls_per_pass = max_calls_per_pass
        self.book = Book(fleet)
        self.ownership = Ownership(pool, self.book, instance)
        self.coverage = CoverageReport(
            pool=pool,
            outbox=outbox,
            book=self.book,
            eta=eta,
            areas=areas,
            region=region,
            clock=clock,
        )
        self.wake = asyncio.Event()
        self.fleet_ready = asyncio.Event()
        # for the positioning loop (service_layer/positioning.py): the posts that calls just
        # took units from
        self.vacated: list[OpenReposition] = []
        # when the first alarm still waiting for the planner reached us (monotonic seconds):
        # the batch window runs from there, so recording the alarm is not paid on top of it
        self.batch_opened_at: float | None = None
        # how many calls the last pass decided: the planner opens its window only after a pass
        # that had company, so a call that comes alone is not kept waiting (decision 0167)
        self.last_batch_calls = 0
        # how far workorders.events is read (the host keeps it; None: not read by a consumer,
        # as in tests that hand the events over themselves)
        self.answers_read: ReadUpTo | None = None

    @property
    def waiting(self) -> Set[UUID]:
        """Alarms that need a primary unit."""
        return self.book.waiting

    # ---- regions (decision 0032: service_layer/ownership.py) ----------------------------

    @property
    def leases(self) -> dict[str, int]:
        """The regions this process decides for, with the epoch of its lease on each."""
        return self.ownership.held

    async def hold_regions(self, regions: set[str]) -> None:
        """Take the regions the group gave this process (and leave the others); then the
        updates and cancels a process without their lease read meanwhile are applied."""
        gained = regions - set(self.leases)
        if await self.ownership.hold(regions):
            self.wake.set()
        await catch_up(self, gained)

    async def reconcile(self) -> int:
        missing, freed = await self.ownership.reconcile()
        if missing or freed:
            self.wake.set()
        await catch_up(self, self.leases)  # left pending by a process read while we took over
        return missing

    # ---- inputs ---------------------------------------------------------------------------

    async def receive_alarms(self, alarms: Sequence[AlarmAccepted]) -> int:
        """Record alarms as received (idempotent by alarm id); the planner takes those of
        the regions this process holds. A replayed alarm still waiting in PostgreSQL that the
        book does not hold (its first reader lost the region) comes into the book too."""
        arrived = time.monotonic()
        async with self.pool.acquire() as connection:  # one statement: no transaction
            new, seen = await repo.record_received(connection, alarms)
            missed = [
                a for a in seen if a.region in self.leases and self.book.alarm(a.alarm_id) is None
            ]
            waiting = (
                await repo.waiting_states(connection, [a.alarm_id for a in missed])
                if missed
                else {}
            )
        new = [alarm for alarm in new if alarm.region in self.leases]
        for alarm in new:
            self.book.receive(alarm)
        for alarm in missed:
            if alarm.alarm_id in waiting:
                state, reason = waiting[alarm.alarm_id]
                self.book.restore(alarm, state, reason)
                new.append(alarm)
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
            at_post=state.at_post,
        )
        if freed:
            self.book.coverage_dirty = True
            if self.book.waiting:
                self.wake.set()

    # ---- planning -------------------------------------------------------------------------

    async def build_index(self) -> None:
        """Build the candidate index in a worker thread from the fleet as it is now, so that a
        plan finds it built: at 20,000 units a build is 5-8 ms of the plan's path otherwise."""
        at = time.monotonic()
        snapshot = self.fleet.index_snapshot()
        built = await asyncio.to_thread(
            self.fleet.index.build, snapshot.units, snapshot.lats, snapshot.lons
        )
        self.fleet.install_index(built, at=at)

    async def plan_once(self) -> None:
        """Decide every waiting alarm together, then write the whole batch in one transaction
        (one commit, however many alarms), each alarm in its own savepoint so that a unit taken
        by another dispatcher undoes only that alarm's work orders. The book follows the
        commit."""
        if not self.book.waiting:
            return
        started = time.perf_counter()
        now = self.clock()
        self.batch_opened_at = None  # alarms recorded from here on make the next batch
        self.fleet.ready_index(time.monotonic())
        calls = self.book.waiting_calls(limit=self.max_calls_per_pass)
        self.last_batch_calls = len(calls)
        decision = decide(
            calls,
            index=self.fleet.index,
            plans=self.plans,
            now=now,
            params=self.policy,
            excluded=self.book.excluded,
        )
        telemetry.planned(time.perf_counter() - started)
        by_alarm: dict[UUID, list[Assignment]] = {}
        for assignment in decision.assignments:
            by_alarm.setdefault(assignment.call.alarm_id, []).append(assignment)
        shortfalls = [
            (self._alarm(s.call.alarm_id), s.reason)
            for s in decision.shortfalls
            if not self.book.told(s.call.alarm_id, s.reason)  # told once per reason
        ]
        if not by_alarm and not shortfalls:
            telemetry.queue_length(self.book)
            if self.book.unplanned:
                self.wake.set()
            return
        outcome = BatchOutcome()
        alone = len(by_alarm) + len(shortfalls) == 1  # nothing else to keep: no savepoint
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                await self.ownership.fence(connection)
                for alarm_id, assignments in by_alarm.items():
                    alarm = self._alarm(alarm_id)
                    try:
                        async with nullcontext() if alone else connection.transaction():
                            orders, preempted = await write_assignment(
                                connection,
                                self.outbox,
                                self.book,
                                alarm,
                                assignments,
                                # issued when written, not when decided: a unit freed by another
                                # dispatcher between the two must not look held twice in the
                                # work orders' history
                                issued_at=max(now, self.clock()),
                                accept_within_s=self.timings.accept_timeout_s,
                            )
                    except REFUSED as error:
                        if alone:
                            raise
                        outcome.conflicts.append((alarm, assignments, error))
                    except AlarmTaken:
                        if alone:
                            raise
                        outcome.taken.append(alarm_id)
                    else:
                        outcome.assigned.append((alarm, orders, preempted))
                for alarm, reason in shortfalls:
                    moved = await write_queued(connection, self.outbox, alarm, reason, now)
                    outcome.queued.append((alarm, reason, moved))
        except REFUSED as error:  # the batch's one alarm: its transaction rolled back
            ((alarm_id, assignments),) = by_alarm.items()
            outcome = BatchOutcome(conflicts=[(self._alarm(alarm_id), assignments, error)])
        except AlarmTaken:
            outcome = BatchOutcome(taken=list(by_alarm))
        except Fenced as fenced:
            self.ownership.fenced(fenced)
            return
        self._committed(outcome)
        for alarm, assignments, refused in outcome.conflicts:
            await self._conflict(alarm, assignments, refused)
        telemetry.queue_length(self.book)
        if self.book.unplanned:
            self.wake.set()

    def _alarm(self, alarm_id: UUID) -> AlarmAccepted:
        alarm = self.book.alarm(alarm_id)
        assert alarm is not None, "a waiting alarm is in the book"
        return alarm

    def _committed(self, outcome: BatchOutcome) -> None:
        """After the batch's commit: this process's relay sends now; the orders are ours,
        preempted calls wait again, alarms another dispatcher took are not ours to plan."""
        self.outbox.committed()
        for alarm, orders, preempted in outcome.assigned:
            for old in preempted:
                self.lost(old, reason="preempted")
            self.book.assigned(alarm.alarm_id, orders)
            telemetry.assigned(alarm, orders)
            for order in orders:  # a post its unit held is a hole now (decision 0063)
                left = self.book.repositions.ended(order.unit_id)
                if left is not None:
                    self.vacated.append(left)
        for alarm_id in outcome.taken:
            self.book.forget_alarm(alarm_id)
        for alarm, reason, moved in outcome.queued:
            if moved:
                self.book.queue(alarm.alarm_id, reason)
                telemetry.queued(alarm, reason)
            else:
                self.book.forget_alarm(alarm.alarm_id)

    async def _conflict(
        self, alarm: AlarmAccepted, assignments: list[Assignment], error: asyncpg.PostgresError
    ) -> None:
        """The database refused: a unit already holds an open work order (another dispatcher
        took it), or the alarm already has its primary (or two dispatchers deadlocked on
        units). Treat the held units as busy and re-plan."""
        telemetry.conflict()
        if getattr(error, "constraint_name", "") == "work_orders_one_open_primary_per_alarm":
            self.book.forget_alarm(alarm.alarm_id)
            return
        async with self.pool.acquire() as connection:
            held = await repo.units_with_open_orders(
                connection, [a.option.unit_id for a in assignments]
            )
        for unit_id in held:
            if self.fleet.commitment_of(unit_id) is None:
                self.fleet.hold_elsewhere(unit_id)
        telemetry.replanned(alarm, held)
        self.wake.set()

    def lost(self, order: OpenOrder, *, reason: str) -> None:
        """`order` was withdrawn and committed: the book lets it go; its alarm may wait again."""
        telemetry.lost(reason)
        if self.book.requeue_after_losing(order):
            self.wake.set()

    def restored(self, order: OpenOrder, gave_way: OpenOrder | None) -> None:
        """After the commit: a timely acceptance got its job back (service_layer/restoration)."""
        self.fleet.answered(order.unit_id)  # it did answer: no hold for silence
        if gave_way is not None and self.book.order(gave_way.work_order_id) is not None:
            self.lost(gave_way, reason="superseded_by_timely_accept")
        if order.primary:
            self.book.assigned(order.alarm_id, [order])
        else:
            self.book.remember(order)
        telemetry.restored(order)

    # ---- timers ---------------------------------------------------------------------------

    async def expire_unaccepted(self) -> int:
        """Withdraw work orders not accepted in time (service_layer/acceptance.py)."""
        return await acceptance.expire_unaccepted(self)

    async def report_coverage(self) -> list[str]:
        """Tell the command centre about platforms newly left uncovered, with a move-up."""
        return await self.coverage.report(fleet_ready=self.fleet_ready.is_set())
