"""Where idle units patrol (有警出警、无警巡逻; issue 15, decisions 0060 and 0063): the planner of
`domain/positioning.py`, asked the way the study asks it, its answers written as repositions.

- A shift's plan when this process takes its region, and at each shift's start.
- A post for each free unit that holds none (a unit back from a call, one back on duty): the
  best for the coverage the others leave (DMEXCLP).
- Move-ups when a call takes a unit from its post: idle units near the hole, only when the gain
  passes a threshold that grows with load, within a budget of moves per unit and hour.
- The live coverage: the expected share of calls on target per tier, were one to come now, and
  how many posts are held, as metrics for the 1/3/5 board.

Each reposition is written with its outbox message in one transaction, fenced by the region's
lease like every decision; the book follows the commit."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import asyncpg

from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import Book
from kj_dispatch.domain.positioning import Move, MoveUpRule, PositionPlanner, UnitPosition
from kj_dispatch.domain.repositions import PATROL_RADIUS_M, OpenReposition
from kj_dispatch.service_layer import telemetry
from kj_dispatch.service_layer.messages import post_order, send_work_order, send_work_orders
from kj_dispatch.service_layer.ownership import Fenced, Ownership
from kj_runtime.outbox import Outbox
from kj_runtime.worker_process import WorkerProcess
from kj_schemas.enums import WorkOrderAction
from kj_schemas.workorders import WorkOrder

CITY_TIME = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class PositioningRules:
    shift_hours: tuple[int, ...] = (0, 8, 16)  # a shift's plan at these hours (city time)
    free_per_pass: int = 20  # free units given a post in one pass, at most
    move_up: MoveUpRule = field(default_factory=MoveUpRule)


MAX_BUSY_FRACTION = 0.95


class Positioning:
    def __init__(
        self,
        *,
        planner: PositionPlanner,
        book: Book,
        ownership: Ownership,
        pool: asyncpg.Pool,
        outbox: Outbox,
        vacated: list[OpenReposition],
        rules: PositioningRules | None = None,
        worker: WorkerProcess | None = None,
    ) -> None:
        self.planner = planner
        # the planner's arithmetic runs in a process of its own: in a thread it held the GIL
        # against the loop assigning alarms (decision 0095)
        self.worker = worker or WorkerProcess(planner)
        self.book = book
        self.fleet = book.fleet
        self.ownership = ownership
        self.pool = pool
        self.outbox = outbox
        self.vacated = vacated  # the dispatcher's: posts calls took units from
        self.rules = rules or PositioningRules()
        self._shift: tuple[str, int] | None = None  # (date, shift hour) planned last
        self._posts = {p.post_id: p for p in planner.posts}

    def use(self, planner: PositionPlanner) -> None:
        """A planner learned anew (call rates from the history): the passes after this use it."""
        self.planner = planner
        self._posts = {p.post_id: p for p in planner.posts}
        self.worker.replace(planner)

    def close(self) -> None:
        self.worker.close()

    # ---- what the planner sees --------------------------------------------------------------

    def snapshot(self, now: datetime) -> list[UnitPosition]:
        """Every unit on duty or busy that the planner serves, as the planner sees it."""
        repositions = self.book.repositions
        serves = self.planner.serves
        units = []
        for unit in self.fleet:
            if not unit.on_patrol_or_busy() or not serves(unit.platform_id):
                continue
            post = repositions.of(unit.unit_id)
            units.append(
                UnitPosition(
                    unit.unit_id,
                    unit.kind,
                    unit.platform_id,
                    unit.lat,
                    unit.lon,
                    available=unit.dispatchable(now),
                    post_id=post.post_id if post else None,
                    settled=bool(post) and unit.at_post,
                    move_ups_last_hour=repositions.moves_last_hour(unit.unit_id, now),
                )
            )
        return units

    @staticmethod
    def busy_fraction(units: Sequence[UnitPosition]) -> float:
        """The share of units on duty that are on a call now (MEXCLP's q), at most
        `MAX_BUSY_FRACTION`: the model needs a unit to be free with some probability, and a
        city with every unit on a call (a storm, a test's burst) must not stop the loop."""
        q = sum(not u.available for u in units) / len(units) if units else 0.0
        return min(q, MAX_BUSY_FRACTION)

    # ---- one pass -----------------------------------------------------------------------------

    async def plan(self, now: datetime) -> int:
        """The pass the loop runs: a shift's plan when one is due, else posts for free units
        without one and move-ups for the holes calls left. Returns the moves written."""
        if not self.ownership.held or not self.fleet.units:
            return 0
        released = await self._release_off_duty(now)
        local = now.astimezone(CITY_TIME)
        units = self.snapshot(now)
        q = self.busy_fraction(units)
        shift = self._due_shift(local)
        if shift is not None:
            plan = await self.worker.call("shift_plan", units, hour=local.hour, busy_fraction=q)
            written = await self._write(plan, now)
            self._shift = shift
            return written
        vacated = [v for post in self.vacated if (v := _left(post, units)) is not None]
        self.vacated.clear()
        moves = await self.worker.call(
            "running_pass",
            units,
            hour=local.hour,
            busy_fraction=q,
            free_limit=self.rules.free_per_pass,
            rule=self.rules.move_up,
            vacated=vacated,
        )
        return released + await self._write(moves, now)

    async def _release_off_duty(self, now: datetime) -> int:
        """A unit that went off duty (or off the fleet) gives its post back: the post's order is
        withdrawn, so the post counts as empty and the terminal stops showing it."""
        gone = [
            r
            for r in self.book.repositions.all()
            if (unit := self.fleet.units.get(r.unit_id)) is None or not unit.on_patrol_or_busy()
        ]
        if not gone:
            return 0
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                await self.ownership.fence(connection)
                for post in gone:
                    if await repo.end_reposition(
                        connection, post.unit_id, status="withdrawn", why="off_duty", at=now
                    ):
                        await send_work_order(
                            self.outbox,
                            connection,
                            post_order(
                                post,
                                patrol_radius_m=PATROL_RADIUS_M,
                                action=WorkOrderAction.withdraw,
                                withdraw_reason="off_duty",
                                at=now,
                            ),
                        )
        except Fenced as fenced:
            self.ownership.fenced(fenced)
            return 0
        for post in gone:
            self.book.repositions.ended(post.unit_id)
        return len(gone)

    def _due_shift(self, local: datetime) -> tuple[str, int] | None:
        """The shift now (its day and starting hour) when its plan is not made yet."""
        hours = sorted(self.rules.shift_hours)
        started = [h for h in hours if h <= local.hour]
        if started:
            shift = (local.date().isoformat(), started[-1])
        else:  # before the day's first shift: yesterday's last one goes on
            shift = ((local.date() - timedelta(days=1)).isoformat(), hours[-1])
        return None if shift == self._shift else shift

    async def _write(self, moves: Sequence[Move], now: datetime) -> int:
        """The moves as repositions: each unit's open one ends (withdrawn), the new one opens, in
        one transaction with their messages; the book follows the commit."""
        # while the planner worked the region may have gone to another replica meanwhile
        # (revoked, fenced), and its posts are that replica's to give now
        if not moves or not self.ownership.held:
            return 0
        region = min(self.ownership.held)
        opened: list[OpenReposition] = []
        ended: list[tuple[str, str]] = []
        orders: list[WorkOrder] = []  # in order: each unit's withdraw, then its post
        for move in moves:
            unit = self.fleet.units.get(move.unit_id)
            if unit is None:
                continue
            post = self._posts[move.post_id]
            before = self.book.repositions.of(move.unit_id)
            if before is not None:
                ended.append((move.unit_id, move.reason))
                withdraw = post_order(
                    before,
                    patrol_radius_m=PATROL_RADIUS_M,
                    action=WorkOrderAction.withdraw,
                    withdraw_reason=f"moved_{move.reason}",
                    at=now,
                )
                orders.append(withdraw)
            reposition = OpenReposition(
                work_order_id=uuid4(),
                unit_id=move.unit_id,
                platform_id=unit.platform_id,
                post_id=post.post_id,
                lat=post.lat,
                lon=post.lon,
                region=region,
                reason=move.reason,
                issued_at=now,
            )
            orders.append(post_order(reposition, patrol_radius_m=PATROL_RADIUS_M))
            opened.append(reposition)
        try:
            # four statements for the whole pass, whatever its size: a shift's plan moves every
            # unit on duty, and six round trips a unit (1,400 for the sample city) were turns
            # of the event loop that assigns the calls (decision 0156)
            async with self.pool.acquire() as connection, connection.transaction():
                await self.ownership.fence(connection)
                await repo.end_repositions(connection, ended, status="withdrawn", at=now)
                await repo.insert_repositions(connection, opened)
                await send_work_orders(self.outbox, connection, orders)
        except Fenced as fenced:
            self.ownership.fenced(fenced)
            return 0
        except asyncpg.UniqueViolationError:
            return 0  # a unit's open reposition changed meanwhile: the next pass sees it
        for reposition in opened:
            self.book.repositions.ended(reposition.unit_id)
            self.book.repositions.opened(reposition, counts=reposition.reason != "shift_plan")
            telemetry.repositioned(reposition)
        return len(opened)

    # ---- the live coverage ----------------------------------------------------------------

    async def report(self, now: datetime) -> None:
        units = self.snapshot(now)
        if not units or not self.ownership.held:
            return
        local = now.astimezone(CITY_TIME)
        coverage = await self.worker.call(
            "coverage", units, hour=local.hour, busy_fraction=self.busy_fraction(units)
        )
        held = self.book.repositions.all()
        occupied = sum(
            1 for r in held if (u := self.fleet.units.get(r.unit_id)) is not None and u.at_post
        )
        telemetry.coverage(coverage, posts_held=len(held), posts_occupied=occupied)


def _left(post: OpenReposition, units: Sequence[UnitPosition]) -> UnitPosition | None:
    """The unit a call took from `post`, as the planner's `vacated`: at the post it left."""
    for unit in units:
        if unit.unit_id == post.unit_id:
            return unit._replace(lat=post.lat, lon=post.lon, post_id=post.post_id)
    return None
