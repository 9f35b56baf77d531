"""`make soak DURATION=1800` (issue 20, item 3): the end-to-end bench's stack and load
(`bench/e2e_stack.py`: 20,000 units pinging at 1 Hz, 1,000 terminals, calls at 3/s with a burst
of 40 callers every 10 minutes and one in the middle of a shorter run) for the duration, and
every 30 s a sample of what must not grow:

- consumer lag per group of the run (records, and seconds: the age of the oldest record the
  group has not committed past; a group that commits lazily, as notify's work orders do
  (decision 0041), shows its commit's delay too);
- the call-to-screen p99 of the calls posted in the window before last (given 30 s to arrive;
  one that did not counts as missing);
- resident memory and open file descriptors per service (each process with the processes it
  started: dispatch's planner);
- PostgreSQL's size per table (a partitioned table with its partitions) and the database's;
- the broker's disk for the run's topics.

At the end: `report.json` (every sample, the summary) and `soak.png` in
`<KJ_STATE_DIR>/soak/<time>/`, and the `soak.*` figures in bench/results.json:
`soak.rss_growth_mb_per_h.<service>` (least squares over the samples after the first minute),
`soak.lag_max_s`, `soak.lag_end_s`, `soak.e2e_p99_ms` (every call of the soak),
`soak.db_growth_mb_per_h` (and per table in the report), and the database's commit probe over
the soak (`soak.db_commit_p99_ms`, `_max_ms`, `soak.db_commit_stalls`; decision 0181).

`--replicas 2`: two processes of every service that scales, each sampled on its own
(`soak.rss_growth_mb_per_h.alarm-1`, ...), and at the end the record checked as the bench
checks it (`bench/e2e_replicas.py`): `soak.two_replicas_lost` and
`soak.two_replicas_assigned_twice` must be 0 (the soak ends with an error naming what broke,
after its report is written), and the work split per process.

    uv run python -m bench.soak [--duration 180] [--units 20000] [--terminals 1000] [--rate 3]
                                [--replicas 1]
"""

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.e2e_replicas import ReplicaCheck, ReplicasViolated, check_record, work_split
from bench.e2e_stack import E2EStack, Posted, add_stack_options, commit_figures, percentile
from bench.record import record
from bench.soak_report import plot, summarise
from kj_runtime.settings import run_dir, state_dir
from kj_sim.alarms import Burst

SAMPLE_S = 30.0
REPLICAS = "soak.two_replicas"  # the prefix of the two-replica check's figures
BURST_EVERY_S = 600.0
BURST_CALLERS = 40


def bursts(duration_s: float) -> tuple[Burst, ...]:
    """A crash with many callers every 10 minutes, and one halfway through a shorter run."""
    at = list(np.arange(BURST_EVERY_S / 2, duration_s, BURST_EVERY_S)) or [duration_s / 2]
    return tuple(Burst(float(a), BURST_CALLERS, spread_seconds=60.0) for a in at)


# ---- what one sample reads ------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return [pid, *(p for kid in kids for p in _tree(int(kid)))]


def process_figures(pids: dict[str, int]) -> dict[str, dict[str, float]]:
    """Per service: resident MB and open descriptors, its processes together."""
    out: dict[str, dict[str, float]] = {}
    for name, pid in pids.items():
        rss_kb, fds = 0, 0
        for member in _tree(pid):
            try:
                status = Path(f"/proc/{member}/status").read_text()
                rss_kb += next(
                    int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
                )
                fds += len(os.listdir(f"/proc/{member}/fd"))
            except (OSError, StopIteration):
                continue
        out[name] = {"rss_mb": round(rss_kb / 1024, 1), "fds": fds}
    return out


TABLE_SIZES = """
    select coalesce(parent.relname, c.relname) as name, sum(pg_total_relation_size(c.oid)) as bytes
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_inherits i on i.inhrelid = c.oid
    left join pg_class parent on parent.oid = i.inhparent
    where n.nspname = 'public' and c.relkind = 'r'
    group by 1"""


async def database_figures(stack: E2EStack) -> dict[str, float]:
    assert stack.pg is not None
    rows = await stack.pg.fetch(TABLE_SIZES)
    sizes = {r["name"]: round(int(r["bytes"]) / 2**20, 2) for r in rows}
    total = await stack.pg.fetchval("select pg_database_size(current_database())")
    return sizes | {"_database": round(int(total) / 2**20, 2)}


def broker_disk_mb(prefix: str) -> float:
    data = state_dir() / "kafka" / "data"
    total = 0
    for folder in data.glob(f"{prefix}*"):
        # blocks on disk: the broker preallocates its index files sparse, 10 MB each
        total += sum(f.stat().st_blocks * 512 for f in folder.iterdir() if f.is_file())
    return round(total / 2**20, 2)


class LagReader:
    """Committed offsets of the run's groups against the partitions' ends; in seconds, the age
    of the oldest record a group has not committed past (read at its committed offset)."""

    def __init__(self, stack: E2EStack) -> None:
        self.stack = stack
        self.admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka.bootstrap)
        self.reader = AIOKafkaConsumer(
            bootstrap_servers=stack.kafka.bootstrap, enable_auto_commit=False, max_poll_records=1
        )

    async def start(self) -> None:
        await self.admin.start()
        await self.reader.start()

    async def close(self) -> None:
        await self.admin.close()
        await self.reader.stop()

    async def _oldest(self, positions: dict[TopicPartition, int]) -> dict[TopicPartition, float]:
        """The timestamp (s) of the record at each position."""
        self.reader.assign(list(positions))
        for tp, offset in positions.items():
            self.reader.seek(tp, offset)
        found: dict[TopicPartition, float] = {}
        give_up = time.monotonic() + 5
        while len(found) < len(positions) and time.monotonic() < give_up:
            for tp, records in (await self.reader.getmany(timeout_ms=500)).items():
                if records and tp not in found:
                    found[tp] = records[0].timestamp / 1000
                    self.reader.pause(tp)
        self.reader.resume(*self.reader.assignment())
        return found

    async def read(self) -> dict[str, dict[str, float]]:
        run = self.stack.run_id
        groups = [g[0] for g in await self.admin.list_consumer_groups() if run in g[0]]
        committed = {g: await self.admin.list_consumer_group_offsets(g) for g in groups}
        partitions = {tp for offsets in committed.values() for tp in offsets}
        ends = await self.reader.end_offsets(list(partitions)) if partitions else {}
        now = time.time()
        out: dict[str, dict[str, float]] = {}
        for group, offsets in committed.items():
            behind = {
                tp: meta.offset
                for tp, meta in offsets.items()
                if meta.offset >= 0 and ends.get(tp, 0) > meta.offset
            }
            oldest = await self._oldest(behind) if behind else {}
            name = group.replace(f"e2e-{run}-", "").replace(self.stack.kafka.topic_prefix, "")
            out[name] = {
                "records": sum(ends[tp] - offset for tp, offset in behind.items()),
                "seconds": round(max((now - at for at in oldest.values()), default=0.0), 2),
            }
        return out


async def e2e_window(stack: E2EStack, posted: list[Posted]) -> dict[str, float]:
    result = await stack.stages(posted)
    spans = [1000 * (s["on_screen"] - s["posted"]) for s in result["stamps"]]
    return {
        "calls": result["accepted"],
        "on_screen": result["on_screen"],
        "p50_ms": round(percentile(spans, 0.5), 1),
        "p99_ms": round(percentile(spans, 0.99), 1),
    }


# ---- the run ---------------------------------------------------------------------------------


async def soak(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    out = run_dir("soak")
    samples: list[dict[str, Any]] = []
    check: ReplicaCheck | None = None
    split: dict[str, float] = {}
    async with E2EStack(
        units=args.units,
        terminals=args.terminals,
        rate_per_s=args.rate,
        bursts=bursts(args.duration),
        work_dir=out,
        split_tracking=args.split_tracking,
        replicas=args.replicas,
    ) as stack:
        await stack.warm_up()
        assert stack.calls is not None
        lag = LagReader(stack)
        await lag.start()
        pids = {name: p.pid for name, p in stack.services.processes.items()}
        began, probed = time.time(), len(stack.commit_probe.durations)
        offering = asyncio.create_task(stack.calls.offer(args.duration, offset=stack.offset))
        try:
            due = began
            while True:
                due += SAMPLE_S
                await asyncio.sleep(max(due - time.time(), 0))  # the calls go on meanwhile
                now = time.time()
                window = [
                    p for p in stack.calls.posted if now - 2 * SAMPLE_S <= p.posted < now - SAMPLE_S
                ]
                sample = {
                    "t_s": round(now - began, 1),
                    "lag": await lag.read(),
                    "e2e": await e2e_window(stack, window),
                    "processes": process_figures(pids),
                    # a service that died is not restarted here (a supervisor's job): named
                    "died": [n for n in pids if not stack.services.alive(n)],
                    "db_mb": await database_figures(stack),
                    "broker_mb": broker_disk_mb(stack.kafka.topic_prefix),
                    "loadavg_1m": round(os.getloadavg()[0], 2),
                }
                samples.append(sample)
                print(json.dumps(sample), flush=True)
                if offering.done() and now - began >= args.duration + SAMPLE_S:
                    break  # the last window's calls had their 30 s
            whole = [p for p in stack.calls.posted if p.posted >= began]
            overall = await stack.stages(whole)
            commits = commit_figures(stack.commit_probe.durations[probed:], "soak")
            if args.replicas > 1:  # before the stack removes its database
                check = await check_record(stack)
                split = await work_split(stack, REPLICAS)
        finally:
            offering.cancel()
            await lag.close()
    summary = summarise(samples, overall, args) | commits
    if check is not None:
        summary |= check.figures(REPLICAS) | split
        summary["two_replicas_violations"] = check.lost + check.assigned_twice
    (out / "report.json").write_text(
        json.dumps({"summary": summary, "samples": samples}, indent=2), encoding="utf-8"
    )
    plot(samples, out / "soak.png")
    if check is not None and (problems := check.violations()):
        raise ReplicasViolated(f"{'; '.join(problems)} (report: {out / 'report.json'})")
    return summary, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=3.0, help="calls a second, bursts aside")
    parser.add_argument("--no-record", action="store_true")
    add_stack_options(parser)  # --split-tracking, --replicas
    args = parser.parse_args()
    import uvloop

    summary, out = uvloop.run(soak(args))
    print(json.dumps(summary, indent=2))
    print(f"report: {out / 'report.json'}\nplot: {out / 'soak.png'}")
    if not args.no_record:
        # one soak's picture: e.g. a split-tracking soak's `patrol-tracking-tracks` figures
        # must not outlive it beside a later soak that ran tracking in one process
        figures = {k: v for k, v in summary.items() if isinstance(v, int | float | str)}
        record(figures, replacing="soak.")


if __name__ == "__main__":
    main()
