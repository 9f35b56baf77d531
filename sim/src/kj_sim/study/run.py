"""`make study`: every policy at 1x, 2x and 4x the normal load on the same seeded day; a table
and plots in docs/study/, and the headline figures in bench/results.json."""

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from kj_runtime.settings import REPO_ROOT
from kj_schemas.city import City, load_city
from kj_sim.study.baselines import ClosestIdle
from kj_sim.study.des import Outcome, Policy, Simulation
from kj_sim.study.dispatch_policies import FullPolicy, NoBackups, SmallestEta
from kj_sim.study.world import day_of_incidents, fleet_of, study_projection

TIERS = ("key_location", "central_city", "other_city", "county")
OUT_DIR = REPO_ROOT / "docs" / "study"
NORMAL_PER_DAY = 1500.0  # police incidents a day in the sample city (a few hundred to thousands)


@dataclass(frozen=True)
class Row:
    policy: str
    load: float
    incidents: int
    late: int
    attainment: float
    tier_attainment: dict[str, float | None]
    priority1_attainment: float | None  # the most urgent calls, which the full policy favours
    p50_s: float
    p90_s: float


def summarise(policy: str, load: float, outcomes: Sequence[Outcome]) -> Row:
    times = np.array(
        [o.first_arrival_s if o.first_arrival_s is not None else np.inf for o in outcomes]
    )
    targets = np.array([o.incident.target for o in outcomes])
    met = times <= targets
    tiers = np.array([o.incident.tier for o in outcomes])
    per_tier: dict[str, float | None] = {}
    for tier in TIERS:
        mask = tiers == tier
        per_tier[tier] = float(met[mask].mean()) if mask.any() else None
    finite = times[np.isfinite(times)]
    urgent = np.array([o.incident.priority == 1 for o in outcomes])
    return Row(
        policy,
        load,
        len(outcomes),
        int((~met).sum()),
        float(met.mean()),
        per_tier,
        float(met[urgent].mean()) if urgent.any() else None,
        float(np.percentile(finite, 50)),
        float(np.percentile(finite, 90)),
    )


def policies() -> list[Callable[[City], Policy]]:
    return [lambda city: ClosestIdle(), SmallestEta, FullPolicy, NoBackups]


def run_study(city: City, *, seed: int, per_day: float, loads: Sequence[float]) -> list[Row]:
    projection = study_projection(city)
    rows = []
    for load in loads:
        incidents = day_of_incidents(city, projection, seed=seed, per_day=per_day, load=load)
        for make in policies():
            policy = make(city)
            outcomes = Simulation(fleet_of(city, projection), incidents, policy, seed).run()
            rows.append(summarise(policy.name, load, outcomes))
    return rows


def table(rows: Sequence[Row]) -> str:
    head = (
        "| policy | load | incidents | late | on target | "
        + " | ".join(TIERS)
        + " | priority 1 | p50 (s) | p90 (s) |"
    )
    lines = [head, "|" + " --- |" * (8 + len(TIERS))]
    for r in rows:
        tiers = " | ".join(
            "-" if r.tier_attainment[t] is None else f"{r.tier_attainment[t]:.1%}" for t in TIERS
        )
        urgent = "-" if r.priority1_attainment is None else f"{r.priority1_attainment:.1%}"
        lines.append(
            f"| {r.policy} | {r.load:g}x | {r.incidents} | {r.late} | {r.attainment:.1%} | "
            f"{tiers} | {urgent} | {r.p50_s:.0f} | {r.p90_s:.0f} |"
        )
    return "\n".join(lines)


def plot(rows: Sequence[Row], out_dir: Path) -> list[Path]:
    names = list(dict.fromkeys(r.policy for r in rows))
    loads = sorted({r.load for r in rows})
    width = 0.8 / max(len(names), 1)
    paths = []
    for metric, label, filename in (
        ("attainment", "share on target", "attainment.png"),
        ("late", "late arrivals (a day)", "late-arrivals.png"),
    ):
        fig, ax = plt.subplots(figsize=(7, 3.8))
        for i, name in enumerate(names):
            values = [
                getattr(next(r for r in rows if r.policy == name and r.load == load), metric)
                for load in loads
            ]
            ax.bar(np.arange(len(loads)) + i * width, values, width, label=name)
        ax.set_xticks(np.arange(len(loads)) + width * (len(names) - 1) / 2)
        ax.set_xticklabels([f"{load:g}x load" for load in loads])
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / filename
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="study", description=__doc__)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--per-day", type=float, default=NORMAL_PER_DAY)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    city = load_city(REPO_ROOT / "cities" / "shaoyang")
    rows = run_study(city, seed=args.seed, per_day=args.per_day, loads=(1.0, 2.0, 4.0))
    args.out.mkdir(parents=True, exist_ok=True)
    text = table(rows)
    (args.out / "results.md").write_text(text + "\n", encoding="utf-8")
    plot(rows, args.out)
    print(text)
    figures = headline(rows)
    if figures:
        from bench.record import record

        record(figures)
        print(figures)
    print(f"study: {time.perf_counter() - started:.0f} s")
    return 0


def headline(rows: Sequence[Row]) -> dict[str, float | int | str]:
    by = {(r.policy, r.load): r for r in rows}
    full = [r.policy for r in rows if r.policy.startswith("full")]
    if not full:
        return {}
    closest = ClosestIdle().name
    late_a, late_c = by[(closest, 2.0)].late, by[(full[0], 2.0)].late
    return {
        "study.late_arrivals_reduction_vs_closest_2x": round((late_a - late_c) / late_a, 4)
        if late_a
        else 0.0,
        "study.attainment_1x": round(by[(full[0], 1.0)].attainment, 4),
    }


if __name__ == "__main__":
    sys.exit(main())
