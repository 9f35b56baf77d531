"""`make study`: every variant on the same seeded days (common random numbers) at 1x and 2x
the normal load, over five seeds; means with 95% intervals in docs/study/, the headline figures
in bench/results.json.

Each seed's day is first run as today's platform runs it (closest idle, random waiting). A day
is then scored with what the platform learned from the other seeds' days: call rates per place
and hour, the ETA fitted to their measured responses, the busy fraction. Never from the scored
day, never from the truth's constants. Days are scored in parallel worker processes."""

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from kj_dispatch.domain.positioning import PositionPlanner
from kj_runtime.settings import REPO_ROOT
from kj_schemas.city import City, load_city
from kj_sim.study.baselines import ClosestIdle
from kj_sim.study.des import Policy, Simulation
from kj_sim.study.history import DayRecord, learn
from kj_sim.study.posting import PlannedPositioning, build_planner
from kj_sim.study.report import Row, headline, plot, results_json, summarise, table
from kj_sim.study.variants import MOVE_UPS, TODAY, Variant, core, variants
from kj_sim.study.world import (
    RECEIPT_DELAY_S,
    Incident,
    day_of_incidents,
    fleet_of,
    study_projection,
)

__all__ = ["Row", "run_seeds", "run_study", "table"]

CITY_DIR = REPO_ROOT / "cities" / "shaoyang"
OUT_DIR = REPO_ROOT / "docs" / "study"
NORMAL_PER_DAY = 1500.0  # calls a day to the 110 centre in the sample city, before merging
FIRST_SEED = 20261123
MIN_HISTORY_DAYS = 3  # a day is never learned from fewer other days than this


_CITY: list[City] = []  # the city of the run, set before the workers fork (they inherit it)


def _city() -> City:
    return _CITY[0]


def _simulate(
    city: City, seed: int, incidents: list[Incident], policy: Policy, positioning: Any = None
) -> Simulation:
    sim = Simulation(
        fleet_of(city, study_projection(city)), incidents, policy, seed, positioning=positioning
    )
    sim.run()
    return sim


def _today(seed: int, load: float, per_day: float, receipt_delay_s: float) -> tuple[DayRecord, Row]:
    """A day as today's platform runs it: the baseline row, and the record others learn from."""
    city = _city()
    incidents = day_of_incidents(
        city,
        study_projection(city),
        seed=seed,
        per_day=per_day,
        load=load,
        receipt_delay_s=receipt_delay_s,
    )
    sim = _simulate(city, seed, incidents, ClosestIdle())
    dispatches = sum(o.units_sent + o.preempted for o in sim.outcomes)
    record = DayRecord(incidents, sim.responses, sim.costs, sim.n, dispatches)
    return record, summarise(TODAY, load, sim, seed=seed)


def _score(
    seed: int,
    load: float,
    day: DayRecord,
    history: list[DayRecord],
    names: list[str],
    verbose: bool,
) -> list[Row]:
    """The variants named on one seed's day, with what was learned from `history`."""
    city = _city()
    learned = learn(city, history)
    planners: dict[str, PositionPlanner] = {}
    rows = []
    for variant in (v for v in variants(every=True) if v.name in names):
        started = time.process_time()
        positioning = None
        if variant.posts:
            key = repr(variant.limits)  # one planner (and its cached reach) per set of limits
            if key not in planners:
                shared = next(iter(planners.values())).reach if planners else None
                planners[key] = build_planner(city, learned, limits=variant.limits, reach=shared)
            rule = MOVE_UPS if variant.move_ups else None
            positioning = PlannedPositioning(city, planners[key], learned, rule)
        sim = _simulate(city, seed, list(day.incidents), variant.make(city, learned), positioning)
        rows.append(summarise(variant.name, load, sim, seed=seed))
        if verbose:
            r = rows[-1]
            print(
                f"{load:g}x seed {seed} {variant.name}: late {r.late}/{r.incidents}, key "
                f"{r.tier_attainment['key_location'] or 0:.1%}, "
                f"cpu {time.process_time() - started:.1f} s",
                flush=True,
            )
    return rows


def history_of(seed: int, seeds: Sequence[int], minimum: int = MIN_HISTORY_DAYS) -> list[int]:
    """The days a seed's day is scored with: the other seeds' days, and fresh days (seeds no
    scored day uses) when there are fewer than `minimum`. Never the scored day itself."""
    others = [s for s in seeds if s != seed]
    fresh = [seed * 7919 + 1000 + j for j in range(max(minimum - len(others), 0))]
    return [*others, *(s for s in fresh if s not in seeds)]


def _map(fn: Callable[..., Any], calls: list[tuple[Any, ...]], jobs: int) -> list[Any]:
    if jobs <= 1 or len(calls) <= 1:
        return [fn(*args) for args in calls]
    with ProcessPoolExecutor(min(jobs, len(calls)), mp_context=get_context("fork")) as pool:
        return list(pool.map(fn, *zip(*calls, strict=True)))


def run_seeds(
    city: City,
    *,
    seeds: Sequence[int],
    per_day: float,
    loads: Sequence[float],
    receipt_delay_s: float = RECEIPT_DELAY_S,
    chosen: Sequence[Variant] | None = None,
    jobs: int = 1,
    verbose: bool = False,
) -> list[Row]:
    """Every chosen variant on every seed's day at every load (a variant's own loads only);
    each day scored with what was learned from the other seeds' days at the same load, and
    from fresh days when there are too few."""
    chosen = list(chosen or variants())
    wanted = [v.name for v in chosen]
    _CITY[:] = [city]
    learn_from = {seed: history_of(seed, seeds) for seed in seeds}
    every = list(dict.fromkeys([*seeds, *(s for days in learn_from.values() for s in days)]))
    days = [(seed, load) for load in loads for seed in every]
    done = _map(_today, [(seed, load, per_day, receipt_delay_s) for seed, load in days], jobs)
    record = {key: result[0] for key, result in zip(days, done, strict=True)}
    rows: list[Row] = [row for (seed, _), (_, row) in zip(days, done, strict=True) if seed in seeds]
    rows = [r for r in rows if TODAY in wanted]
    calls = []
    for load in sorted(loads, reverse=True):  # the longest days first: the workers end together
        for seed in seeds:
            names = [
                v.name for v in chosen if v.name != TODAY and (v.loads is None or load in v.loads)
            ]
            history = [record[(s, load)] for s in learn_from[seed]]
            calls.append((seed, load, record[(seed, load)], history, names, verbose))
    for scored in _map(_score, calls, jobs):
        rows.extend(scored)
    return rows


def run_study(city: City, *, seed: int, per_day: float, loads: Sequence[float]) -> list[Row]:
    """One seed's rows for the core variants (learning from fresh days), in this process."""
    return run_seeds(city, seeds=[seed], per_day=per_day, loads=loads, chosen=core())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="study", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="days scored, one per seed")
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    parser.add_argument("--loads", default="1,2", help="multiples of the normal load")
    parser.add_argument("--per-day", type=float, default=NORMAL_PER_DAY)
    parser.add_argument(
        "--receipt-delay",
        type=float,
        default=RECEIPT_DELAY_S,
        help="mean seconds from the citizen's call to the platform's receipt",
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--every-variant",
        action="store_true",
        help="also the ablations: no move-ups, coverage-aware, smallest ETA, strict limit",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    rows = run_seeds(
        load_city(CITY_DIR),
        seeds=[args.first_seed + i for i in range(args.seeds)],
        per_day=args.per_day,
        loads=[float(x) for x in args.loads.split(",")],
        receipt_delay_s=args.receipt_delay,
        chosen=variants(every=args.every_variant),
        jobs=args.jobs,
        verbose=not args.quiet,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    text = table(rows)
    (args.out / "results.md").write_text(text + "\n", encoding="utf-8")
    plot(rows, args.out)
    print(text)
    figures = results_json(headline(rows))
    elapsed = time.perf_counter() - started
    figures["study.seeds"] = args.seeds
    figures["study.seconds"] = round(elapsed)
    figures["study.load_average_1min"] = round(max(load_before, os.getloadavg()[0]), 2)
    from bench.record import record

    record(figures)
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(f"study: {elapsed:.0f} s, {args.jobs} worker processes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
