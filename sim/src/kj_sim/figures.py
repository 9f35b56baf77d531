"""The response figures, read from the record (PostgreSQL): what the live dashboard shows and
what the end-of-run report recomputes."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class TierFigures:
    tier: str
    responses: int
    met: int
    p50_s: float | None
    p90_s: float | None

    @property
    def attainment(self) -> float | None:
        return self.met / self.responses if self.responses else None


@dataclass(frozen=True)
class Dispatch:
    issued_at: datetime
    unit_id: str
    category: str
    tier: str
    eta_seconds: float
    reason: str
    at_risk: bool


@dataclass(frozen=True)
class Figures:
    calls_last_minute: int
    calls_total: int
    open_alarms: int
    by_status: dict[str, int]
    tiers: list[TierFigures]
    latest: list[Dispatch]


TIER_ORDER = ["key_location", "central_city", "other_city", "county"]


async def read_figures(connection: asyncpg.Connection, since: datetime) -> Figures:
    """Everything since `since` (the start of the run)."""
    calls = await connection.fetchrow(
        """select count(*) filter (where received_at > now() - interval '1 minute') as minute,
                  count(*) as total,
                  count(*) filter (where status in ('accepted', 'assigned', 'on_scene')) as open
           from alarms where received_at >= $1""",
        since,
    )
    by_status = dict(
        await connection.fetch(
            "select status, count(*) from alarms where received_at >= $1 group by status", since
        )
    )
    rows = await connection.fetch(
        """select a.tier, count(*) as responses,
                  count(*) filter (where w.target_met) as met,
                  percentile_cont(0.5) within group (order by w.response_seconds) as p50,
                  percentile_cont(0.9) within group (order by w.response_seconds) as p90
           from work_orders w join alarms a using (alarm_id)
           where w.role = 'primary' and w.response_seconds is not null and w.on_scene_at >= $1
           group by a.tier""",
        since,
    )
    found = {row["tier"]: row for row in rows}
    tiers = [
        TierFigures(
            tier,
            found[tier]["responses"] if tier in found else 0,
            found[tier]["met"] if tier in found else 0,
            found[tier]["p50"] if tier in found else None,
            found[tier]["p90"] if tier in found else None,
        )
        for tier in TIER_ORDER
    ]
    latest = [
        Dispatch(
            row["issued_at"],
            row["unit_id"],
            row["category"],
            row["tier"],
            row["eta_seconds"],
            row["reason"],
            row["at_risk"],
        )
        for row in await connection.fetch(
            """select w.issued_at, w.unit_id, a.category, a.tier, w.eta_seconds, w.reason,
                      w.at_risk
               from work_orders w join alarms a using (alarm_id)
               where a.received_at >= $1 order by w.issued_at desc limit 8""",
            since,
        )
    ]
    return Figures(
        calls_last_minute=calls["minute"],
        calls_total=calls["total"],
        open_alarms=calls["open"],
        by_status=by_status,
        tiers=tiers,
        latest=latest,
    )


async def response_times(connection: asyncpg.Connection, since: datetime) -> dict[str, list[float]]:
    rows = await connection.fetch(
        """select a.tier, w.response_seconds from work_orders w join alarms a using (alarm_id)
           where w.role = 'primary' and w.response_seconds is not null
             and w.on_scene_at >= $1""",
        since,
    )
    out: dict[str, list[float]] = {tier: [] for tier in TIER_ORDER}
    for row in rows:
        out.setdefault(row["tier"], []).append(float(row["response_seconds"]))
    return out
