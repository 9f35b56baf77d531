"""The coverage report: platforms newly left without a unit that could reach them in time, told
to the command centre with a suggested move-up (domain/coverage.py decides the gaps)."""

from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from kj_dispatch.domain.book import Book
from kj_dispatch.domain.coverage import PlatformArea, coverage_gaps
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
        free: dict[str, int] = {area.platform_id: 0 for area in self.areas}
        for unit in fleet:
            if unit.dispatchable(now):
                free[unit.platform_id] = free.get(unit.platform_id, 0) + 1
        telemetry.units_available(free)
        if not self.book.coverage_dirty or not self.areas or not fleet_ready:
            return []
        self.book.coverage_dirty = False
        gaps = coverage_gaps(
            self.areas,
            fleet,
            self.eta,
            now,
            projection=fleet.index.projection,
            max_range_m=fleet.index.max_range_m,
        )
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
