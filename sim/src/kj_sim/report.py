"""The end-of-run report of `make demo DURATION=...`: the figures read back from PostgreSQL,
and a response-time histogram per tier as a PNG."""

from datetime import datetime
from pathlib import Path

import asyncpg
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from kj_sim.dashboard import TIER_LABEL
from kj_sim.figures import Figures, read_figures, response_times

TARGETS = {"key_location": 60, "central_city": 180, "other_city": 300, "county": 600}


async def write_report(
    connection: asyncpg.Connection, since: datetime, out_dir: Path, sim: dict[str, object]
) -> tuple[Figures, Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at the end
    figures = await read_figures(connection, since)
    times = await response_times(connection, since)
    png = out_dir / "response-histogram.png"
    tiers = [tier for tier in TARGETS if times.get(tier)]
    fig, axes = plt.subplots(1, max(len(tiers), 1), figsize=(4.5 * max(len(tiers), 1), 3.6))
    axes_list = list(axes) if len(tiers) > 1 else [axes]
    for ax, tier in zip(axes_list, tiers, strict=False):
        ax.hist(times[tier], bins=30, color="#3b6ea8")
        ax.axvline(
            TARGETS[tier], color="#c0392b", linestyle="--", label=f"target {TARGETS[tier]} s"
        )
        ax.set_title(tier)
        ax.set_xlabel("call to police on scene (s)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    lines = [
        f"# Demo report ({since:%Y-%m-%d %H:%M} UTC)",
        "",
        f"calls: {figures.calls_total}; by status: {figures.by_status}",
        f"simulator: {sim}",
        "",
        "| tier | responses | on target | p50 (s) | p90 (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in figures.tiers:
        rate = "-" if row.attainment is None else f"{row.attainment:.1%}"
        p50 = "-" if row.p50_s is None else f"{row.p50_s:.0f}"
        p90 = "-" if row.p90_s is None else f"{row.p90_s:.0f}"
        label = TIER_LABEL.get(row.tier, row.tier)
        lines.append(f"| {label} | {row.responses} | {rate} | {p50} | {p90} |")
    lines += ["", f"![response times per tier]({png.name})", ""]
    markdown = out_dir / "report.md"
    markdown.write_text("\n".join(lines), encoding="utf-8")
    return figures, markdown, png
