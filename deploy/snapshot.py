"""Draw the 1/3/5 board as ops will see it in Grafana, from a running Prometheus's answers to
the dashboard's own queries (deploy/grafana/response-135.json), into a PNG for the docs.

    uv run python -m deploy.snapshot --prometheus http://127.0.0.1:19090 --minutes 30 \\
        --out docs/img/board-135.png
"""

import argparse
import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
BOARD = REPO_ROOT / "deploy/grafana/response-135.json"
RATE_INTERVAL = "1m"  # what Grafana picks for $__rate_interval at a 15 s scrape and a short range

Series = tuple[dict[str, str], list[tuple[float, float]]]
Fetch = Callable[[str, float, float, float], list[Series]]


def grafana_to_promql(expr: str) -> str:
    """Substitute the Grafana variables the board uses: every tier, a one-minute rate window."""
    return expr.replace("$__rate_interval", RATE_INTERVAL).replace("$tier", ".*")


def legend(fmt: str, labels: dict[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt or "")
    return text.strip() or ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "value"


def prometheus_fetch(base: str, timeout: float = 10.0) -> Fetch:
    client = httpx.Client(base_url=base, timeout=timeout)

    def fetch(expr: str, start: float, end: float, step: float) -> list[Series]:
        answer = client.get(
            "/api/v1/query_range",
            params={"query": expr, "start": start, "end": end, "step": step},
        )
        answer.raise_for_status()
        body = answer.json()
        if body.get("status") != "success":
            raise RuntimeError(f"{expr!r}: {body.get('error')}")
        return [
            (r["metric"], [(float(t), float(v)) for t, v in r["values"]])
            for r in body["data"]["result"]
        ]

    return fetch


def _last(points: list[tuple[float, float]]) -> float:
    for _, v in reversed(points):
        if not math.isnan(v):
            return v
    return math.nan


def _format(value: float, unit: str | None, decimals: int | None = None) -> str:
    if math.isnan(value):
        return "no data"
    if unit == "percentunit":
        return f"{value:.1%}"
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.3g}"


def _bucket_label(le: float, finite: list[float]) -> str:
    """A response-time bucket's upper bound; the +Inf bucket reads as beyond the last one."""
    if math.isinf(le):
        return f">{finite[-1]:g}s" if finite else "all"
    return f"≤{le:g}s"


def draw(
    board: dict[str, Any], fetch: Fetch, out: Path, start: float, end: float, dpi: int = 90
) -> list[str]:
    """Draw every panel; return the PromQL sent, in order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    panels = board["panels"]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    # room between rows for each panel's title above the axis labels of the panel above it
    fig = plt.figure(figsize=(17, height * 0.5), dpi=dpi, facecolor="#111217")
    grid = GridSpec(height, 24, figure=fig, hspace=4.0, wspace=2.0)
    step = max(15.0, (end - start) / 120)
    sent: list[str] = []
    for panel in panels:
        pos = panel["gridPos"]
        ax = fig.add_subplot(grid[pos["y"] : pos["y"] + pos["h"], pos["x"] : pos["x"] + pos["w"]])
        ax.set_facecolor("#181b1f")
        ax.set_title(panel["title"], color="#ccccdc", fontsize=10, loc="left")
        ax.tick_params(colors="#8e8e8e", labelsize=7)
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        unit = defaults.get("unit")
        decimals = defaults.get("decimals", panel.get("decimals"))
        series: list[tuple[str, list[tuple[float, float]]]] = []
        raw: list[Series] = []
        for target in panel.get("targets", []):
            expr = grafana_to_promql(target["expr"])
            sent.append(expr)
            got = fetch(expr, start, end, step)
            raw += got
            series += [(legend(target.get("legendFormat", ""), lab), pts) for lab, pts in got]
        kind = panel["type"]
        if not series:
            ax.text(0.5, 0.5, "no data", color="#8e8e8e", ha="center", va="center")
            ax.set_xticks([])
            ax.set_yticks([])
        elif kind == "stat":
            ax.axis("off")
            for i, (name, pts) in enumerate(sorted(series)):
                x = (i + 0.5) / len(series)
                ax.text(
                    x,
                    0.55,
                    _format(_last(pts), unit, decimals),
                    color="#73bf69",
                    fontsize=18,
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                )
                ax.text(
                    x, 0.15, name, color="#ccccdc", fontsize=8, ha="center", transform=ax.transAxes
                )
        elif kind == "bargauge":
            ordered = sorted(series)
            values = [_last(p) for _, p in ordered]
            ax.barh([n for n, _ in ordered], values, color="#5794f2")
            ax.invert_yaxis()
            # names inside the panel, over the bars: beside it they ran under the next panel
            ax.tick_params(axis="y", direction="in", pad=-3, labelsize=6)
            for label in ax.get_yticklabels():
                label.set_horizontalalignment("left")
                label.set_color("#ffffff")
            if unit == "percentunit":
                ax.set_xlim(0, 1)
        elif kind == "heatmap":
            _heatmap(ax, raw)
        else:
            for name, pts in sorted(series):
                xs = [(t - end) / 60 for t, _ in pts]
                ax.plot(xs, [v for _, v in pts], label=name, linewidth=1)
            ax.set_xlabel("minutes before the snapshot", color="#8e8e8e", fontsize=7)
            # every series named, however many (in columns when long)
            ax.legend(
                fontsize=5 if len(series) > 12 else 6,
                loc="upper left",
                ncol=1 + (len(series) - 1) // 8,
                facecolor="#181b1f",
                framealpha=0.8,
                labelcolor="#ccccdc",
            )
    title = "".join(c for c in board["title"] if ord(c) < 0x2E80).strip()  # the font has no CJK
    fig.suptitle(title, color="#ccccdc", fontsize=14, x=0.01, ha="left")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, facecolor=fig.get_facecolor(), bbox_inches="tight")
    plt.close(fig)
    return sent


def _heatmap(ax: Any, raw: list[Series]) -> None:
    """Buckets (cumulative, by `le`) into counts per bucket over time."""
    by_le = sorted(
        ((float(labels.get("le", "inf")), pts) for labels, pts in raw), key=lambda x: x[0]
    )
    if not by_le:
        return
    times = [t for t, _ in by_le[0][1]]
    rows = []
    below = [0.0] * len(times)
    for _, pts in by_le:
        values = [v if not math.isnan(v) else 0.0 for _, v in pts][: len(times)]
        rows.append([max(0.0, v - b) for v, b in zip(values, below, strict=False)])
        below = values
    ax.imshow(rows, aspect="auto", origin="lower", cmap="inferno", interpolation="nearest")
    finite = [le for le, _ in by_le if not math.isinf(le)]
    ax.set_yticks(range(len(by_le)), [_bucket_label(le, finite) for le, _ in by_le], fontsize=6)
    ax.set_xticks([])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.snapshot", description=__doc__)
    parser.add_argument("--prometheus", default="http://127.0.0.1:19090")
    parser.add_argument("--minutes", type=float, default=30.0, help="time range to draw")
    parser.add_argument("--board", type=Path, default=BOARD)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs/img/board-135.png")
    args = parser.parse_args(argv)
    board = json.loads(args.board.read_text(encoding="utf-8"))
    end = time.time()
    sent = draw(board, prometheus_fetch(args.prometheus), args.out, end - args.minutes * 60, end)
    print(f"{args.out}: {len(board['panels'])} panels from {len(sent)} queries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
