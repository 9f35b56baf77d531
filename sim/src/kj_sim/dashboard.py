"""The live terminal dashboard of `make demo` (rich), laid out for a 100×30 terminal: the run,
the 1/3/5 promise per tier, every platform's units by status, the latest dispatches."""

from collections import Counter

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from kj_sim.figures import Figures
from kj_sim.labels import (
    ALARM_STATUS,
    TIER_LABEL,
    UNIT_GROUP_LABEL,
    UNIT_GROUPS,
    duration,
    label,
)

WIDTH, HEIGHT = 100, 30
PLATFORM_COLUMNS = 5
LATEST = 3


def _seconds(value: float | None) -> str:
    return "-" if value is None else duration(value)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _counts(statuses: Counter[str]) -> str:
    free, call, back, lost = (sum(statuses[s] for s in UNIT_GROUPS[g]) for g in UNIT_GROUPS)
    free_text = f"[green]{free}[/green]" if free else "[red]0[/red]"
    lost_text = f"[red]{lost}[/red]" if lost else "0"
    return f"{free_text}/{call}/{back}/{lost_text}"


def _platforms(by_platform: dict[str, Counter[str]], names: dict[str, str]) -> Table:
    legend = " / ".join(UNIT_GROUP_LABEL[g] for g in UNIT_GROUPS)
    table = Table(
        title=f"units per platform: {legend}", box=None, show_header=False, padding=(0, 1)
    )
    for _ in range(PLATFORM_COLUMNS):
        table.add_column(no_wrap=True, style="bold")  # the platform
        table.add_column(no_wrap=True)  # its units
    cells: list[str] = []
    for platform in sorted(by_platform):
        cells += [
            names.get(platform, platform).removesuffix("平台"),
            _counts(by_platform[platform]),
        ]
    per_row = 2 * PLATFORM_COLUMNS
    for start in range(0, len(cells), per_row):
        row = cells[start : start + per_row]
        table.add_row(*row, *[""] * (per_row - len(row)))
    return table


def render(
    figures: Figures,
    *,
    units_by_platform: dict[str, Counter[str]],
    platform_names: dict[str, str],
    sim: dict[str, object],
    endpoints: list[str],
    elapsed_s: float,
) -> Group:
    calls = ", ".join(
        f"{label(ALARM_STATUS, status).split(' ', 1)[0]} {figures.by_status[status]}"
        for status in ALARM_STATUS
        if figures.by_status.get(status)
    )
    head = (
        f"[b]running[/b] {duration(elapsed_s)}   [b]calls[/b] {figures.calls_total} "
        f"({figures.calls_last_minute} in the last minute)   [b]open[/b] {figures.open_alarms}\n"
        f"{calls or 'no calls yet'}"
    )
    tiers = Table(
        title="the 1/3/5 promise",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        expand=True,
        padding=(0, 1),
    )
    for column in ("tier", "responses", "on target", "median", "90th percentile"):
        tiers.add_column(column, justify="left" if column == "tier" else "right")
    for tier in figures.tiers:
        rate = tier.attainment
        colour = "green" if rate is not None and rate >= 0.95 else "yellow"
        tiers.add_row(
            label(TIER_LABEL, tier.tier),
            str(tier.responses),
            "-" if rate is None else f"[{colour}]{rate:.0%}[/{colour}]",
            _seconds(tier.p50_s),
            _seconds(tier.p90_s),
        )
    latest = Table(title="latest dispatches", box=None, expand=True, padding=(0, 1))
    for column in ("at", "unit", "category", "tier", "ETA", "why"):
        latest.add_column(column, no_wrap=True)
    for d in figures.latest[:LATEST]:
        latest.add_row(
            f"{d.issued_at:%H:%M:%S}",
            d.unit_id,
            d.category,
            label(TIER_LABEL, d.tier),
            duration(d.eta_seconds),
            _short(d.reason, 28) + (" [red]at risk[/red]" if d.at_risk else ""),
        )
    lag = sim.get("ping_lag")
    lag_p99 = lag.get("p99_ms", 0.0) if isinstance(lag, dict) else 0.0
    footer = "\n".join(
        [
            f"simulator: {sim.get('pings_sent', 0):,} pings, on schedule within {lag_p99:.0f} ms",
            "  ".join(endpoints[:2]),  # the API docs and Prometheus; the logs' folder below
            *endpoints[2:],
        ]
    )
    return Group(
        Panel(head, title="快警 dispatch platform — simulated city", height=4),
        tiers,
        _platforms(units_by_platform, platform_names),
        latest,
        Panel(footer, height=5, title="where"),
    )
