"""The coverage report: platforms newly left without a unit that could reach them in time, told
to the command centre with a suggested move-up (domain/coverage.py decides the gaps)."""

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from kj_dispatch.domain.book import Book
from kj_dispatch.domain.coverage import CoverageGap, FleetArrays, PlatformArea, survey_gaps
from kj_dispatch.domain.eta import EtaModel
from kj_dispatch.service_layer import telemetry
from kj_dispatch.service_layer.messages import notice, send_notice
from kj_runtime.outbox import Outbox
from kj_schemas.enums import NoticeKind


class CoverageReport:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        outbox: Outbox,
        book: Book,
        eta: EtaModel,
        areas: Sequence[PlatformArea],
        region: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.book = book
        self.eta = eta
        self.areas = list(areas)
        self.region = region
        self.clock = clock
        self._gaps: set[str] = set()  # the platforms uncovered at the last report

    async def report(self, *, fleet_ready: bool) -> list[str]:
        """The platforms newly uncovered since the last report (each told once until it is
        covered again); none until the fleet is known or while nothing freed or took a unit."""
        now = self.clock()
        fleet = self.book.fleet
        judge = bool(self.book.coverage_dirty and self.areas and fleet_ready)
        if judge:
            self.book.coverage_dirty = False  # what changes meanwhile makes the next report
        # on a copy of the fleet's arrays, in a worker thread: at a province's 20,000 units the
        # count and the gaps took 60 ms of one call every 2 s on the loop, and every alarm,
        # work order and answer in flight waited behind it (issue 20). A survey that read the
        # unit objects in the thread held the GIL as long, against the loop all the same
        # (decision 0178); numpy's arithmetic lets go of it.
        free, gaps = await asyncio.to_thread(self._survey, fleet.arrays(now), now, judge)
        telemetry.units_available(free)
        if gaps is None:
            return []
        new = [gap for gap in gaps if gap.platform_id not in self._gaps]
        if new:
            async with self.pool.acquire() as connection, connection.transaction():
                for gap in new:
                    await send_notice(
                        self.outbox,
                        connection,
                        notice(
                            NoticeKind.coverage_gap,
                            region=self.region,
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

    def _survey(
        self, units: FleetArrays, now: datetime, judge: bool
    ) -> tuple[dict[str, int], list[CoverageGap] | None]:
        """The free units per platform and, when `judge`, the gaps (in a worker thread)."""
        free = {area.platform_id: 0 for area in self.areas} | units.free_per_platform()
        if not judge:
            return free, None
        index = self.book.fleet.index
        gaps = survey_gaps(
            self.areas,
            units,
            self.eta,
            now,
            projection=index.projection,
            max_range_m=index.max_range_m,
        )
        return free, gaps
