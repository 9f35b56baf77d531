"""Call to the officer's screen (issue 20): `POST /v1/alarms` to the work order's frame on a
connected terminal's WebSocket, through alarm intake, its outbox relay, dispatch (its batch
window, plan and outbox), notify's gateway, with a province's GPS load beside it: 20,000 units
pinging at 1 Hz on `patrol.pings`, spread over each second (decision 0167), tracking publishing
their states, dispatch indexing them, and 1,000 terminals connected. The stack, the load and
the stamps are `bench/e2e_stack.py`.

The stack is measured in its steady state: after dispatch's first shift plan
(`e2e.shift_plan_s` from the services' start; tens of seconds of the planner's process at this
scale). Calls are offered at a steady 3/s (the simulator's 110 stream: its category mix, repeat
callers merged, non-police calls diverted; only calls accepted as new incidents get a work
order), so the figure is latency, not saturation. After a warm-up (calls until one reaches a
screen), three rounds of `--seconds` (60) each; every figure is the median of the rounds'
(`_max_ms`: the largest of the rounds'):

- `e2e.call_to_screen_p50_ms`, `_p99_ms`, `_max_ms`: the POST's send to the frame read on
  the terminal;
- `e2e.stage_<name>_*`: http_in (send -> intake's receipt), intake_to_dispatch (group commit,
  relay, broker, dispatch's consumer), plan (batch window, plan, write), workorder_to_notify
  (commit, relay, broker, notify's consumer and store), push (notify's push to the frame read);
  the two outbox hops also split at their relay's send (the record's timestamp):
  intake_to_relay + relay_to_dispatch, issued_to_relay + relay_to_notify;
- `e2e.answer_201_*`: the POST's answer, beside;
- `e2e.on_screen_share`: calls accepted that reached a screen within 30 s of the round's end;
- `e2e.cores.<process>`, `e2e.loop_lag_p99_ms.<process>`, `e2e.loop_lag_over_25ms_share.<process>`
  over the rounds together: each service's CPU (cores) and its event loop's stalls (its
  `kj_event_loop_lag_seconds`), which add to every stage in flight on that process: where a
  stage's tail comes from when the stage itself does little. `bench` is the bench's own
  process (the calls' sender, the 1,000 terminals, the stamps): its stalls are the
  instrument's error, so its collector is settled after the warm-up as a service settles
  its own (decision 0179). `e2e.host_busy_share` and
  `e2e.host_steal_share`: the machine's busy time and the time its hypervisor gave to others.
- `e2e.dead_letters`: records the services refused over the rounds. The load is valid
  calls and pings, so any is a defect (the simulator's headings of 360.0 were 2 pings a
  second until 2026-12-04).
- `e2e.metrics_scrapes`, `_failed`, `e2e.metrics_scrape_max_ms` (and `.<process>`, whose
  page was slow): a process of the bench's own reads every service's `/metrics` every 15 s
  from the services' start to the end, as the deploy's Prometheus does (decision 0185).

`--replicas 2` runs two processes of every service that scales (alarm intake, tracking,
dispatch, notify's gateway; the terminals alternate between the two gateways, the calls
between the two intakes) and names every figure `e2e.*_two_replicas`, beside the one-process
run's. After the rounds, the record is checked (`bench/e2e_replicas.py`):
`e2e.two_replicas_lost` and `e2e.two_replicas_assigned_twice` must be 0, and the work each
process did is kept as `e2e.two_replicas_<what>.<process>`; a violation ends the bench with an
error naming it, after its figures are printed (and not recorded).

    uv run python -m bench.bench_e2e [--units 20000] [--terminals 1000] [--rate 3]
                                     [--seconds 60] [--rounds 3] [--replicas 1] [--no-record]
"""

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import orjson

from bench.e2e_replicas import (
    ReplicaCheck,
    ReplicasViolated,
    check_record,
    split_line,
    work_split,
)
from bench.e2e_stack import (
    E2EStack,
    add_stack_options,
    scrape_figures,
    stage_figures,
    vitals_figures,
)
from bench.record import record
from kj_runtime.settings import state_dir

REPLICAS = "e2e.two_replicas"  # the prefix of the two-replica run's own figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The figures; with replicas, raises ReplicasViolated (after printing them) when the
    record shows a call lost or anything assigned twice."""
    load_at_start = round(os.getloadavg()[0], 2)
    check: ReplicaCheck | None = None
    split: dict[str, float] = {}
    async with E2EStack(
        units=args.units,
        terminals=args.terminals,
        rate_per_s=args.rate,
        work_dir=state_dir() / "bench" / "e2e",
        split_tracking=args.split_tracking,
        replicas=args.replicas,
    ) as stack:
        await stack.warm_up()
        vitals_before, vitals_at = await stack.vitals(), time.monotonic()
        rounds = []
        for number in range(1, args.rounds + 1):
            result = await stack.measure(args.seconds)
            figures = stage_figures(result["stamps"], "e2e")
            print(
                f"round {number}: {result['offered']} calls offered, {result['accepted']} "
                f"accepted, {result['on_screen']} on a screen; call to screen p50 "
                f"{figures.get('e2e.call_to_screen_p50_ms')} ms, p99 "
                f"{figures.get('e2e.call_to_screen_p99_ms')} ms",
                flush=True,
            )
            rounds.append((result, figures))
            if args.stamps:  # every call's stamps, to read the slowest calls stage by stage
                with args.stamps.open("ab") as out:
                    for stamp in result["stamps"]:
                        out.write(orjson.dumps({"round": number, **stamp}) + b"\n")
        vitals = vitals_figures(
            vitals_before, await stack.vitals(), time.monotonic() - vitals_at, "e2e"
        )
        if args.replicas > 1:  # before the stack removes its database
            check = await check_record(stack)
            split = await work_split(stack, REPLICAS)
    keys = sorted({k for _, f in rounds for k in f})
    figures = {
        k: round(
            (max if k.endswith("_max_ms") else statistics.median)(
                f[k] for _, f in rounds if k in f
            ),
            1,
        )
        for k in keys
    }
    accepted = sum(r["accepted"] for r, _ in rounds)
    pings, scrapes = stack.ping_stats, stack.scrape_stats
    names = {f"{s.url}/metrics": name for name, s in stack.services.services.items()}
    if args.stamps:  # beside the calls: when each page was read, to see if a read slowed one
        with args.stamps.open("ab") as out:
            for url, at, ms in scrapes.get("reads", []):
                out.write(orjson.dumps({"scrape": names.get(url, url), "at": at, "ms": ms}) + b"\n")
    figures |= {
        "e2e.on_screen_share": round(sum(r["on_screen"] for r, _ in rounds) / accepted, 4)
        if accepted
        else 0.0,
        "e2e.calls_offered": sum(r["offered"] for r, _ in rounds),
        "e2e.calls_on_screen": sum(r["on_screen"] for r, _ in rounds),
        "e2e.call_to_screen_p99_ms_worst_round": max(
            f.get("e2e.call_to_screen_p99_ms", 0.0) for _, f in rounds
        ),
        "e2e.units_pinging": args.units,
        "e2e.terminals_connected": args.terminals,
        "e2e.calls_per_s": args.rate,
        "e2e.rounds": args.rounds,
        "e2e.round_seconds": args.seconds,
        # what the pinger really sent (it falls behind its 1 Hz schedule when starved)
        "e2e.pings_per_s_sent": round(pings.get("pings_per_s", 0.0), 1),
        "e2e.ping_schedule_lag_p99_ms": round(pings.get("ping_lag", {}).get("p99_ms", 0.0), 1),
        # a Prometheus's reads of every service's /metrics, every 15 s through the whole run
        **scrape_figures(scrapes, names, "e2e"),
        # measured after it (warm_up): the planner's first shift plan for the fleet
        "e2e.shift_plan_s": round(stack.shift_plan_s, 1),
        "e2e.loadavg_1m_at_start": load_at_start,
        "e2e.loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    } | vitals
    if check is None:
        return figures
    # the two-replica run's figures beside the one-process run's
    figures = {f"{key}_two_replicas": value for key, value in figures.items()}
    figures |= check.figures(REPLICAS) | split
    # eight service processes start on the same cores: their start is part of the picture
    figures[f"{REPLICAS}_services_ready_s"] = round(stack.ready_s, 1)
    print(
        f"two replicas: services ready in {stack.ready_s:.0f} s; "
        f"{check.calls_accepted} calls accepted, {len(check.lost)} lost, "
        f"{len(check.assigned_twice)} assigned twice, {check.published_twice} published twice, "
        f"{check.unanswered} unanswered; {split_line(split, REPLICAS)}",
        flush=True,
    )
    if problems := check.violations():
        print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode(), flush=True)
        raise ReplicasViolated("; ".join(problems))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20_000, help="units pinging at 1 Hz")
    parser.add_argument("--terminals", type=int, default=1000, help="terminals connected")
    parser.add_argument("--rate", type=float, default=3.0, help="calls offered a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="each round's length")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="print, do not record")
    parser.add_argument(
        "--stamps",
        type=Path,
        help="append every call's stamps, then every scrape's start and length, to this file "
        "(JSON lines)",
    )
    add_stack_options(parser)  # --split-tracking, --replicas
    args = parser.parse_args()
    import uvloop

    figures = uvloop.run(run(args))
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    if not args.no_record:
        record(figures)


if __name__ == "__main__":
    main()
