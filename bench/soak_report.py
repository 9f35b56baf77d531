"""The soak's end (`bench/soak.py`): its samples reduced to the `soak.*` figures, and drawn."""

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from bench.e2e_stack import percentile, stage_figures

SETTLED_S = 60.0  # growth is fitted over the samples after the first minute (start-up, caches)


def _per_hour(samples: list[dict[str, Any]], value: Any) -> float:
    """Least-squares slope of `value(sample)` per hour over the settled samples."""
    kept = [s for s in samples if s["t_s"] >= SETTLED_S] or samples
    if len(kept) < 2:
        return 0.0
    hours = np.array([s["t_s"] for s in kept]) / 3600
    values = np.array([float(value(s)) for s in kept])
    return round(float(np.polyfit(hours, values, 1)[0]), 1)


def summarise(
    samples: list[dict[str, Any]], overall: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    services = sorted(samples[0]["processes"]) if samples else []
    tables = sorted(samples[-1]["db_mb"]) if samples else []
    lag_by_sample = [max((g["seconds"] for g in s["lag"].values()), default=0.0) for s in samples]
    spans = [1000 * (s["on_screen"] - s["posted"]) for s in overall["stamps"]]
    summary: dict[str, Any] = {
        f"soak.rss_growth_mb_per_h.{name}": _per_hour(
            samples, lambda s, n=name: s["processes"][n]["rss_mb"]
        )
        for name in services
    }
    summary |= {
        f"soak.rss_end_mb.{name}": samples[-1]["processes"][name]["rss_mb"] for name in services
    }
    summary |= {
        f"soak.fds_max.{name}": max(s["processes"][name]["fds"] for s in samples)
        for name in services
    }
    summary |= {
        "soak.lag_max_s": max(lag_by_sample, default=0.0),
        "soak.lag_end_s": lag_by_sample[-1] if lag_by_sample else 0.0,
        "soak.e2e_p99_ms": round(percentile(spans, 0.99), 1),
        "soak.e2e_p50_ms": round(percentile(spans, 0.50), 1),
        "soak.e2e_window_p99_max_ms": max((s["e2e"]["p99_ms"] for s in samples), default=0.0),
        "soak.calls_accepted": overall["accepted"],
        "soak.on_screen_share": round(overall["on_screen"] / overall["accepted"], 4)
        if overall["accepted"]
        else 0.0,
        "soak.db_growth_mb_per_h": _per_hour(samples, lambda s: s["db_mb"]["_database"]),
        "soak.db_end_mb": samples[-1]["db_mb"]["_database"] if samples else 0.0,
        "soak.broker_growth_mb_per_h": _per_hour(samples, lambda s: s["broker_mb"]),
        "soak.duration_s": args.duration,
        "soak.units_pinging": args.units,
        "soak.terminals_connected": args.terminals,
        "soak.calls_per_s": args.rate,
        "soak.samples": len(samples),
        "soak.services_died": len({n for s in samples for n in s.get("died", [])}),
    }
    # where the database grows, table by table (nested: the report only, not results.json)
    summary["db_growth_mb_per_h_by_table"] = {
        table: rate
        for table in tables
        if table != "_database"
        and (rate := _per_hour(samples, lambda s, t=table: s["db_mb"].get(t, 0.0))) != 0.0
    }
    summary["stages"] = stage_figures(overall["stamps"], "soak")
    return summary


def plot(samples: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["t_s"] / 60 for s in samples]
    fig, axes = plt.subplots(2, 3, figsize=(16, 8), dpi=90)
    panels = axes.ravel()

    def lines(ax: Any, title: str, series: dict[str, list[float]], unit: str) -> None:
        for name, values in sorted(series.items()):
            ax.plot(minutes, values, label=name)
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xlabel("minutes")
        ax.set_ylabel(unit)
        if series:
            ax.legend(fontsize=7)

    groups = sorted({g for s in samples for g in s["lag"]})
    lines(
        panels[0],
        "consumer lag per group",
        {g: [s["lag"].get(g, {}).get("seconds", 0.0) for s in samples] for g in groups},
        "seconds",
    )
    lines(
        panels[1],
        "call to screen, per 30 s window",
        {
            "p99": [s["e2e"]["p99_ms"] for s in samples],
            "p50": [s["e2e"]["p50_ms"] for s in samples],
        },
        "ms",
    )
    services = sorted(samples[0]["processes"]) if samples else []
    lines(
        panels[2],
        "resident memory per service",
        {n: [s["processes"][n]["rss_mb"] for s in samples] for n in services},
        "MB",
    )
    lines(
        panels[3],
        "open file descriptors per service",
        {n: [s["processes"][n]["fds"] for s in samples] for n in services},
        "descriptors",
    )
    biggest = sorted(
        (t for t in samples[-1]["db_mb"] if t != "_database"),
        key=lambda t: -samples[-1]["db_mb"][t],
    )[:6]
    lines(
        panels[4],
        "PostgreSQL: the largest tables and the database",
        # (matplotlib leaves a label that starts with "_" out of the legend)
        {t.strip("_"): [s["db_mb"].get(t, 0.0) for s in samples] for t in [*biggest, "_database"]},
        "MB",
    )
    lines(
        panels[5],
        "broker disk, the run's topics",
        {"topics": [s["broker_mb"] for s in samples]},
        "MB",
    )
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
