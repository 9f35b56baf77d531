"""The live terminal dashboard of `make demo` (rich)."""

from collections import Counter

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from kj_sim.figures import Figures

TIER_LABEL = {
    "key_location": "重点部位 1 min",
    "central_city": "中心城区 3 min",
    "other_city": "其他城区 5 min",
    "county": "county",
}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def render(
    figures: Figures,
    *,
    units_by_status: Counter[str],
    platforms_short: list[tuple[str, int]],
    sim: dict[str, object],
    endpoints: list[str],
    elapsed_s: float,
) -> Group:
    head = Table.grid(padding=(0, 3))
    head.add_row(
        f"[b]running[/b] {elapsed_s / 60:.1f} min",
        f"[b]calls/min[/b] {figures.calls_last_minute}",
        f"[b]calls[/b] {figures.calls_total}",
        f"[b]open alarms[/b] {figures.open_alarms}",
        " ".join(f"{k} {v}" for k, v in sorted(figures.by_status.items())),
    )
    tiers = Table(title="the 1/3/5 promise", expand=True)
    for column in ("tier", "responses", "on target", "p50", "p90"):
        tiers.add_column(column, justify="right" if column != "tier" else "left")
    for tier in figures.tiers:
        rate = tier.attainment
        colour = "green" if rate is not None and rate >= 0.95 else "yellow"
        tiers.add_row(
            TIER_LABEL.get(tier.tier, tier.tier),
            str(tier.responses),
            "-" if rate is None else f"[{colour}]{rate:.0%}[/{colour}]",
            _seconds(tier.p50_s),
            _seconds(tier.p90_s),
        )
    units = Table(title="units", expand=True)
    units.add_column("status")
    units.add_column("units", justify="right")
    for status, count in sorted(units_by_status.items()):
        units.add_row(status, str(count))
    units.add_row("[dim]fewest available[/dim]", "")
    for platform, available in platforms_short:
        units.add_row(f"  {platform}", str(available))
    latest = Table(title="latest dispatches", expand=True)
    for column in ("at", "unit", "category", "tier", "eta", "reason"):
        latest.add_column(column)
    for d in figures.latest:
        latest.add_row(
            f"{d.issued_at:%H:%M:%S}",
            d.unit_id,
            d.category,
            d.tier,
            f"{d.eta_seconds:.0f} s",
            d.reason + (" [red]at risk[/red]" if d.at_risk else ""),
        )
    lag = sim.get("ping_lag")
    lag_p99 = lag.get("p99_ms", 0.0) if isinstance(lag, dict) else 0.0
    footer = (
        f"simulator: {sim.get('pings_sent', 0)} pings, lag p99 {lag_p99:.0f} ms; "
        f"calls {sim.get('alarms_posted', {})}\n" + "  ".join(endpoints)
    )
    return Group(
        Panel(head, title="快警 dispatch platform — simulated city"),
        tiers,
        units,
        latest,
        Panel(footer, title="where"),
    )
