"""The end-of-run report of `make demo DURATION=...`, for people: the figures read back from
PostgreSQL in words and tables (no raw values), a response-time histogram per tier, a link to
the 1/3/5 board `make demo` draws after it, and what was still open when the run ended."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from kj_sim.figures import TIER_ORDER, Figures, read_figures, response_times
from kj_sim.labels import ALARM_STATUS, POST_ANSWER, TIER_LABEL, duration, label

POST_REASON = {
    "shift_plan": "at the shift's start",
    "freed": "back from a call",
    "move_up": "moved up",
}
TARGETS = {"key_location": 60, "central_city": 180, "other_city": 300, "county": 600}
HISTOGRAM = "response-histogram.png"
BOARD = "board-135.png"  # drawn from the demo's Prometheus by `make demo` after the report


@dataclass(frozen=True)
class OpenAlarm:
    alarm_id: str
    received_at: datetime
    tier: str
    category: str
    status: str
    unit_id: str | None
    work_order_status: str | None


@dataclass(frozen=True)
class Posts:
    """Where idle units were sent to patrol during the run (decision 0063)."""

    sent: dict[str, int]  # by why: shift_plan, freed, move_up
    reached: int  # of those sent, how many units got there (patrol tracking's GPS)
    reach_p50_s: float | None  # median time from the order to the unit there
    held_at_end: int  # posts held when the run ended
    occupied_at_end: int  # of those, units at their post


async def read_posts(connection: asyncpg.Connection, since: datetime) -> Posts:
    sent = dict(
        await connection.fetch(
            "select reason, count(*) from dispatch_repositions where issued_at >= $1 group by 1",
            since,
        )
    )
    row = await connection.fetchrow(
        """select count(*) filter (where reached_at is not null) as reached,
                  percentile_cont(0.5) within group (order by extract(epoch from
                    reached_at - issued_at)) filter (where reached_at is not null) as p50,
                  count(*) filter (where status = 'open') as held,
                  count(*) filter (where status = 'open' and reached_at is not null) as occupied
           from dispatch_repositions where issued_at >= $1""",
        since,
    )
    assert row is not None
    return Posts(sent, row["reached"], row["p50"], row["held"], row["occupied"])


async def open_at_end(connection: asyncpg.Connection, since: datetime) -> list[OpenAlarm]:
    rows = await connection.fetch(
        """select a.alarm_id::text, a.received_at, a.tier, a.category, a.status,
                  w.unit_id, w.status as work_order_status
           from alarms a
           left join work_orders w on w.alarm_id = a.alarm_id and w.role = 'primary'
                and w.status not in ('withdrawn', 'rejected', 'closed')
           where a.received_at >= $1 and a.status in ('accepted', 'assigned', 'on_scene')
           order by a.received_at""",
        since,
    )
    return [OpenAlarm(**dict(row)) for row in rows]


def _percent(met: int, total: int) -> str:
    return f"{met / total:.0%} ({met} of {total})" if total else "-"


def _seconds(value: float | None) -> str:
    return "-" if value is None else duration(value)


def report_markdown(
    figures: Figures,
    *,
    since: datetime,
    ended: datetime,
    still_open: list[OpenAlarm],
    sim: dict[str, Any],
    histogram: str | None,
    posts: Posts | None = None,
) -> str:
    lines = [
        f"# Demo report: {since:%Y-%m-%d %H:%M} UTC, {duration((ended - since).total_seconds())}",
        "",
        "## Calls",
        "",
        f"The simulated 110 centre made {figures.calls_total} calls:",
        "",
    ]
    for status in ALARM_STATUS:
        if figures.by_status.get(status):
            lines.append(f"- {label(ALARM_STATUS, status)}: {figures.by_status[status]}")
    lines += [
        "",
        "## The 1/3/5 promise",
        "",
        "Response times per tier as dispatch measured them, read back from PostgreSQL: every",
        "unit on scene since the run started, as the board counts them (a call left open by an",
        "earlier run counts when its unit arrives).",
        "",
        "| tier | responses | on target | median | 90th percentile |",
        "| --- | --- | --- | --- | --- |",
    ]
    for tier in figures.tiers:
        lines.append(
            f"| {label(TIER_LABEL, tier.tier)} | {tier.responses} | "
            f"{_percent(tier.met, tier.responses)} | {_seconds(tier.p50_s)} | "
            f"{_seconds(tier.p90_s)} |"
        )
    lines.append("")
    if histogram:
        lines += [f"![Response times per tier, with each tier's target]({histogram})", ""]
    lines += [
        f"![The 1/3/5 board, drawn from the demo's Prometheus]({BOARD})",
        "",
        "(The board is drawn by `make demo` once this report is written; it is missing when the",
        "demo ran without Prometheus.)",
        "",
    ]
    if posts is not None:
        lines += _posts_section(posts, figures)
    lines += [
        f"## Still open at the end ({len(still_open)})",
        "",
    ]
    if still_open:
        lines += [
            "| received | tier | category | state | unit | open for |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for alarm in still_open:
            unit = alarm.unit_id or "none yet"
            state = label(ALARM_STATUS, alarm.status)
            if alarm.work_order_status not in (None, alarm.status):
                state += f" ({alarm.work_order_status.replace('_', ' ')})"
            lines.append(
                f"| {alarm.received_at:%H:%M:%S} | {label(TIER_LABEL, alarm.tier)} | "
                f"{alarm.category} | {state} | {unit} | "
                f"{duration((ended - alarm.received_at).total_seconds())} |"
            )
    else:
        lines.append("Nothing: every call was closed, merged or diverted.")
    lag = sim.get("ping_lag") or {}
    posted = sim.get("alarms_posted") or {}
    lines += [
        "",
        "## The simulated city",
        "",
        f"- GPS pings sent: {sim.get('pings_sent', 0):,}; the simulator kept its schedule "
        f"within {lag.get('p99_ms', 0.0):.1f} ms at the 99th percentile "
        f"(worst {lag.get('max_ms', 0.0):.1f} ms).",
        "- Answers to the calls it posted: "
        + (", ".join(f"{label(POST_ANSWER, k)} {v}" for k, v in sorted(posted.items())) or "none")
        + f"; posts that failed: {sim.get('post_errors', 0)}.",
        "",
    ]
    return "\n".join(lines)


def _posts_section(posts: Posts, figures: Figures) -> list[str]:
    total = sum(posts.sent.values())
    key = next((t for t in figures.tiers if t.tier == "key_location"), None)
    lines = [
        "## Where idle units patrolled (有警出警、无警巡逻)",
        "",
        f"Dispatch sent units to patrol at posts {total} times: "
        + (
            ", ".join(f"{POST_REASON.get(k, k)} {v}" for k, v in sorted(posts.sent.items()))
            or "none"
        )
        + ".",
        f"- Reached (seen there from their own GPS): {_percent(posts.reached, total)}, "
        f"in {_seconds(posts.reach_p50_s)} at the median.",
        f"- At the end: {posts.held_at_end} posts held, "
        f"{_percent(posts.occupied_at_end, posts.held_at_end)} occupied.",
    ]
    if key is not None:
        lines.append(
            f"- Key locations (60 s): {_percent(key.met, key.responses)} of their calls on target."
        )
    return [*lines, ""]


def _histogram(times: dict[str, list[float]], png: Path) -> bool:
    tiers = [tier for tier in TIER_ORDER if times.get(tier)]
    if not tiers:
        return False
    fig, axes = plt.subplots(1, len(tiers), figsize=(4.5 * len(tiers), 3.6), squeeze=False)
    for ax, tier in zip(axes[0], tiers, strict=True):
        ax.hist(times[tier], bins=30, color="#3b6ea8")
        target = TARGETS[tier]
        ax.axvline(target, color="#c0392b", linestyle="--", label=f"target {duration(target)}")
        ax.set_title(tier.replace("_", " "))
        ax.set_xlabel("response time (s)")
        ax.set_ylabel("responses")
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return True


async def write_report(
    connection: asyncpg.Connection,
    since: datetime,
    out_dir: Path,
    sim: dict[str, Any],
    *,
    ended: datetime,
) -> tuple[Figures, Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at the end
    figures = await read_figures(connection, since)
    times = await response_times(connection, since)
    still_open = await open_at_end(connection, since)
    posts = await read_posts(connection, since)
    png = out_dir / HISTOGRAM
    drawn = _histogram(times, png)
    markdown = out_dir / "report.md"
    markdown.write_text(
        report_markdown(
            figures,
            since=since,
            ended=ended,
            still_open=still_open,
            sim=sim,
            histogram=HISTOGRAM if drawn else None,
            posts=posts,
        ),
        encoding="utf-8",
    )
    return figures, markdown, png
