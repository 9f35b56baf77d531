"""Which regions this dispatch process decides for (decision 0032): the consumer group gives it
a region's partition, it takes the region's lease and brings the region's open alarms and work
orders into the book; every deciding transaction checks the lease first (`fence`), and a process
whose lease moved on stands down. `reconcile` is the safety net under the book."""

import asyncpg

from kj_dispatch.adapters import repository as repo
from kj_dispatch.domain.book import Book
from kj_dispatch.service_layer import telemetry


class Fenced(Exception):
    """The lease of these regions moved on to another dispatch process."""

    def __init__(self, regions: list[str]) -> None:
        super().__init__(f"no longer the dispatcher of {', '.join(regions)}")
        self.regions = regions


class Ownership:
    def __init__(self, pool: asyncpg.Pool, book: Book, instance: str) -> None:
        self.pool = pool
        self.book = book
        self.fleet = book.fleet
        self.instance = instance
        self.held: dict[str, int] = {}  # region -> the epoch of this process's lease

    async def hold(self, regions: set[str]) -> bool:
        """The consumer group gave this process the alarms of `regions` (and took the others):
        stand down from the regions it lost, take the lease of the ones it gained and bring
        their open alarms and work orders, as PostgreSQL holds them, into the book. True when
        calls wait to be planned. Told again the regions it holds (it rejoined the group after
        a pause past its session and got them back), it retakes those whose lease another
        process took meanwhile: the group gave them back, and nobody else decides for them."""
        for region in sorted(set(self.held) - regions):
            self.stand_down(region, why="revoked")
        if self.held:
            async with self.pool.acquire() as connection:
                for region in await repo.leases_lost(connection, self.held):
                    self.stand_down(region, why="fenced")
        gained = sorted(regions - set(self.held))
        if not gained:
            return False
        async with self.pool.acquire() as connection, connection.transaction():
            epochs = {r: await repo.take_lease(connection, r, self.instance) for r in gained}
            alarms = await repo.open_alarms(connection, gained)
            orders = await repo.open_work_orders(connection)
            posts = await repo.open_repositions(connection, gained)
        self.held.update(epochs)
        self.book.take_region(alarms, [o for o in orders if o.region in epochs])
        for post in posts:
            self.book.repositions.opened(post, counts=False)
        for order in orders:
            if order.region not in self.held and self.fleet.commitment_of(order.unit_id) is None:
                self.fleet.hold_elsewhere(order.unit_id)
        telemetry.regions_taken(epochs, self.book)
        return bool(self.book.waiting)

    def stand_down(self, region: str, *, why: str) -> None:
        self.held.pop(region, None)
        dropped = self.book.drop_region(region)
        telemetry.stood_down(region, why, dropped)

    async def fence(self, connection: asyncpg.Connection) -> None:
        """First in every transaction that decides: the leases are still ours, and stay ours
        (share lock) until it commits."""
        lost = await repo.leases_lost(connection, self.held)
        if lost:
            raise Fenced(lost)

    def fenced(self, fenced: Fenced) -> None:
        for region in fenced.regions:
            self.stand_down(region, why="fenced")

    async def reconcile(self) -> tuple[int, int]:
        """Open alarms of our regions that PostgreSQL holds and the book does not (a replay the
        book missed while a rebalance moved the region) come in, so no alarm waits unseen;
        units another process held are rechecked and released when their work order ended.
        Returns (alarms brought in, units released)."""
        if not self.held:
            return 0, 0
        held = self.fleet.held_elsewhere
        async with self.pool.acquire() as connection:
            alarms = await repo.open_alarms(connection, sorted(self.held))
            still_held = await repo.units_with_open_orders(connection, sorted(held))
        missing = [a for a in alarms if self.book.alarm(a[0].alarm_id) is None]
        if missing:
            self.book.take_region(missing, [])
            telemetry.reconciled(len(missing))
        freed = 0
        for unit_id in held - still_held:
            if self.fleet.commitment_of(unit_id) is None:
                self.fleet.release(unit_id)
                freed += 1
        return len(missing), freed
