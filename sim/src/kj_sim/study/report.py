"""What the study reports: a row per variant, load and seed; means over the seeds with their
95% intervals in a table and plots; the issue's headline figures. The 1/3/5 target is judged
from the platform's receipt of the 110 instruction to the first unit on scene; the citizen's
wait (first call → on scene) is kept beside it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kj_sim.study.des import Outcome, Simulation
from kj_sim.study.stats import Estimate, estimate
from kj_sim.study.variants import LIKE_FOR_LIKE, SYSTEM, TODAY

TIERS = ("key_location", "central_city", "other_city", "county")


@dataclass(frozen=True)
class Row:
    policy: str
    load: float
    incidents: int
    late: int
    attainment: float
    tier_attainment: dict[str, float | None]
    priority1_attainment: float | None
    p50_s: float
    p90_s: float
    seed: int = 0
    citizen_p90_s: float = 0.0
    moves_per_unit_hour: float = 0.0  # trips ordered off calls: to a post or waiting point
    move_ups_per_unit_hour: float = 0.0
    km_per_unit_day: float = 0.0  # road km of those trips


def summarise(
    policy: str, load: float, sim: Simulation, *, seed: int = 0, hours: float = 24.0
) -> Row:
    outcomes = sim.outcomes
    times = _times(outcomes, lambda o: o.first_arrival_s)
    targets = np.array([o.incident.target for o in outcomes])
    met = times <= targets
    tiers = np.array([o.incident.tier for o in outcomes])
    per_tier: dict[str, float | None] = {}
    for tier in TIERS:
        mask = tiers == tier
        per_tier[tier] = float(met[mask].mean()) if mask.any() else None
    finite = times[np.isfinite(times)]
    citizen = _times(outcomes, lambda o: o.citizen_s)
    urgent = np.array([o.incident.priority == 1 for o in outcomes])
    unit_hours = sim.n * hours
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
        seed,
        float(np.percentile(citizen[np.isfinite(citizen)], 90)),
        float(sim.costs.moves.sum() / unit_hours),
        float(sim.costs.move_ups.sum() / unit_hours),
        float(sim.costs.km.sum() / sim.n * 24.0 / hours),
    )


def _times(outcomes: Sequence[Outcome], of: Callable[[Outcome], float | None]) -> np.ndarray:
    return np.array([v if (v := of(o)) is not None else np.inf for o in outcomes])


@dataclass(frozen=True)
class Summary:
    """One variant at one load, over the seeds."""

    policy: str
    load: float
    figures: dict[str, Estimate]


def _tier(tier: str) -> Callable[[Row], float | None]:
    return lambda r: r.tier_attainment[tier]


_FIGURES: dict[str, Callable[[Row], float | None]] = {
    "incidents": lambda r: r.incidents,
    "late": lambda r: r.late,
    "attainment": lambda r: r.attainment,
    **{tier: _tier(tier) for tier in TIERS},
    "priority1": lambda r: r.priority1_attainment,
    "p50_s": lambda r: r.p50_s,
    "p90_s": lambda r: r.p90_s,
    "citizen_p90_s": lambda r: r.citizen_p90_s,
    "moves_per_unit_hour": lambda r: r.moves_per_unit_hour,
    "move_ups_per_unit_hour": lambda r: r.move_ups_per_unit_hour,
    "km_per_unit_day": lambda r: r.km_per_unit_day,
}


def summaries(rows: Sequence[Row]) -> list[Summary]:
    order = list(dict.fromkeys(r.policy for r in rows))
    keys = sorted({(r.load, r.policy) for r in rows}, key=lambda k: (k[0], order.index(k[1])))
    out = []
    for load, policy in keys:
        mine = [r for r in rows if r.policy == policy and r.load == load]
        figures = {name: estimate([f(r) for r in mine]) for name, f in _FIGURES.items()}
        out.append(Summary(policy, load, figures))
    return out


def _share(e: Estimate) -> str:
    if e.n == 0:
        return "-"
    return f"{e.mean:.1%} ± {e.half_width:.1%}" if e.n > 1 else f"{e.mean:.1%}"


def _number(e: Estimate, digits: int = 0) -> str:
    if e.n == 0:
        return "-"
    if e.n == 1:
        return f"{e.mean:.{digits}f}"
    return f"{e.mean:.{digits}f} ± {e.half_width:.{digits}f}"


def table(rows: Sequence[Row]) -> str:
    """Means over the seeds ± the half-width of their 95% interval."""
    head = (
        "| policy | load | incidents | late | on target | "
        + " | ".join(TIERS)
        + " | p50 (s) | p90 (s) | citizen p90 (s) | trips off calls /unit·h "
        "| move-ups /unit·h | km off calls /unit·day |"
    )
    lines = [head, "|" + " --- |" * (11 + len(TIERS))]
    for s in summaries(rows):
        f = s.figures
        tiers = " | ".join(_share(f[t]) for t in TIERS)
        lines.append(
            f"| {s.policy} | {s.load:g}x | {_number(f['incidents'])} | {_number(f['late'])} | "
            f"{_share(f['attainment'])} | {tiers} | {_number(f['p50_s'])} | "
            f"{_number(f['p90_s'])} | {_number(f['citizen_p90_s'])} | "
            f"{_number(f['moves_per_unit_hour'], 2)} | "
            f"{_number(f['move_ups_per_unit_hour'], 2)} | {_number(f['km_per_unit_day'], 1)} |"
        )
    return "\n".join(lines)


def headline(rows: Sequence[Row]) -> dict[str, Estimate]:
    """The issue's figures, each a mean over seeds with its 95% interval. A reduction is
    taken per seed (the same day under both variants), then averaged."""
    by = {(r.policy, r.load, r.seed): r for r in rows}
    seeds = sorted({r.seed for r in rows})

    def of(load: float, f: Callable[[Row], float | None]) -> Estimate:
        return estimate([f(by[(SYSTEM, load, s)]) for s in seeds if (SYSTEM, load, s) in by])

    def fewer_late_than(base: str, load: float) -> Estimate:
        values = []
        for s in seeds:
            b, c = by.get((base, load, s)), by.get((SYSTEM, load, s))
            if b and c and b.late:
                values.append((b.late - c.late) / b.late)
        return estimate(values)

    return {
        "late_arrivals_reduction_vs_closest_2x": fewer_late_than(TODAY, 2.0),
        "dispatch_gain_like_for_like_2x": fewer_late_than(LIKE_FOR_LIKE, 2.0),
        "key_location_attainment_1x": of(1.0, lambda r: r.tier_attainment["key_location"]),
        "attainment_1x": of(1.0, lambda r: r.attainment),
        "moves_per_unit_hour_2x": of(2.0, lambda r: r.moves_per_unit_hour),
        "move_ups_per_unit_hour_2x": of(2.0, lambda r: r.move_ups_per_unit_hour),
    }


def results_json(figures: dict[str, Estimate]) -> dict[str, float | int | str]:
    """`study.<name>` the mean, `study.<name>_ci95` its interval, as bench/results.json keeps
    them."""
    out: dict[str, float | int | str] = {}
    for name, e in figures.items():
        if e.n:
            out[f"study.{name}"] = round(e.mean, 4)
            out[f"study.{name}_ci95"] = f"[{e.low:.4f}, {e.high:.4f}]"
    return out


def plot(rows: Sequence[Row], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = summaries(rows)
    names = list(dict.fromkeys(r.policy for r in rows))  # the order the variants came in
    loads = sorted({s.load for s in groups})
    width = 0.8 / max(len(names), 1)
    paths = []
    for metric, label, filename in (
        ("late", "late arrivals in a day (mean, 95% interval)", "late-arrivals.png"),
        ("key_location", "key locations (60 s) on target", "key-locations.png"),
        ("attainment", "on target (1/3/5 from the platform's receipt)", "attainment.png"),
    ):
        fig, ax = plt.subplots(figsize=(9, 4.4))
        for i, name in enumerate(names):
            found = [
                next((s for s in groups if s.policy == name and s.load == load), None)
                for load in loads
            ]
            values = [s.figures[metric].mean if s else np.nan for s in found]
            errors = [s.figures[metric].half_width if s else 0.0 for s in found]
            x = np.arange(len(loads)) + i * width
            ax.bar(x, values, width, yerr=errors, label=name, capsize=2)
        ax.set_xticks(np.arange(len(loads)) + width * (len(names) - 1) / 2)
        ax.set_xticklabels([f"{load:g}x load" for load in loads])
        ax.set_ylabel(label)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = out_dir / filename
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
