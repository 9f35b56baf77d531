"""Instructions a ping costs, counted by callgrind (decision 0187): the tracking service's hot
path and the bare decode-only loop of `bench_tracking`, each run under valgrind on the same
city's pings at two sizes; the difference in instructions over the difference in pings is what
a ping costs, the start-up and the shut-down cancelled. The counted process runs its clocks
slowed down as callgrind slows it, so that periodic work is not counted as the pings'. On this
shared 2-core machine the tracking bench's wall-clock ratio of unchanged code moved 0.44-0.57
between runs minutes apart; repeats of the count agree within 0.3%, so a change of 1% shows.

`tracking.instructions_per_ping` (the service), `tracking.bare_instructions_per_ping`, and
`tracking.instruction_ratio` (bare over service: the share of the bare loop's speed the service
would keep if every instruction cost the same; `tracking.cpu_ratio` is the timed one).

`--root DIR` counts another checkout with its own `.venv` and its own bench (a `git worktree` of
an older commit, for a side-by-side): printed, not recorded.

Run: `uv run python -m bench.bench_instructions` (Kafka and PostgreSQL up, valgrind installed by
`make install`); about 6 minutes."""

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.bench_tracking import drop_database
from bench.record import record
from kj_runtime.kafka import delete_topics, list_topics, wait_for_kafka
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings

PHASE = Path(__file__).resolve().parent / "callgrind_phase.py"
UNITS = 2_000
SMALL, LARGE = 10, 30  # pings per unit of the two runs

_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


def collected(valgrind_stderr: str) -> int:
    """The instructions callgrind counted in the whole process (its summary line)."""
    found = _COLLECTED.findall(valgrind_stderr)
    if len(found) != 1:
        raise ValueError(f"no single 'Collected' line in callgrind's output:\n{valgrind_stderr}")
    return int(found[0])


@dataclass(frozen=True)
class Count:
    pings: int
    instructions: int


def per_ping(small: Count, large: Count) -> float:
    """Instructions a ping costs: what the larger run counted beyond the smaller, per ping
    more. Whatever both runs do once (start, restore, stop) cancels."""
    if large.pings <= small.pings:
        raise ValueError(f"the larger run has {large.pings} pings, the smaller {small.pings}")
    return (large.instructions - small.instructions) / (large.pings - small.pings)


class Tree:
    """A checkout whose own bench is counted: its Python, its packages, its `bench` package."""

    def __init__(self, root: Path, run: str, units: int) -> None:
        self.root, self.run, self.units = root, run, units
        self.python = root / ".venv" / "bin" / "python"
        if not self.python.exists():
            raise SystemExit(f"{root} has no .venv: run `make install` there first")

    def _env(self, pings_per_unit: int) -> dict[str, str]:
        return os.environ | {
            "PYTHONPATH": str(self.root),
            "PYTHONHASHSEED": "0",  # the same dict layouts in every run
            # OpenBLAS's idle workers spin for a while after each numpy call: instructions that
            # grow with the wall time callgrind stretches, not with the pings (±240 a ping)
            "OPENBLAS_NUM_THREADS": "1",
            "BENCH_UNITS": str(self.units),
            "BENCH_PINGS_PER_UNIT": str(pings_per_unit),
        }

    def _phase(self, mode: str, label: str, pings_per_unit: int, *, counted: bool) -> int:
        command = [str(self.python), str(PHASE), mode, self.run, label]
        if counted:
            command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command]
        done = subprocess.run(  # noqa: S603 (our own interpreter and script)
            command,
            cwd=self.root,
            env=self._env(pings_per_unit),
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{mode} {label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return collected(done.stderr) if counted else 0

    def database(self) -> None:
        self._phase("setup", "database", SMALL, counted=False)

    def count(self, mode: str, pings_per_unit: int, label: str) -> Count:
        self._phase("setup", label, pings_per_unit, counted=False)
        instructions = self._phase(mode, label, pings_per_unit, counted=True)
        return Count(self.units * pings_per_unit, instructions)


async def remove(run: str) -> None:
    """The run's topics and its database."""
    kafka = KafkaSettings()
    prefix = f"bench-instructions-{run}-"
    await delete_topics(kafka, [t for t in await list_topics(kafka) if t.startswith(prefix)])
    await drop_database(PostgresSettings(database=f"kj_bench_instructions_{run}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="the checkout to count")
    parser.add_argument("--units", type=int, default=UNITS)
    parser.add_argument("--no-record", action="store_true", help="print, do not record")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: `make install` installs it")
    asyncio.run(wait_for_kafka(KafkaSettings(), deadline_s=60))
    run = uuid.uuid4().hex[:6]
    tree = Tree(args.root.resolve(), run, args.units)
    figures: dict[str, float] = {}
    try:
        tree.database()
        for mode in ("service", "bare"):
            small = tree.count(mode, SMALL, f"{mode}-small")
            large = tree.count(mode, LARGE, f"{mode}-large")
            figures[mode] = per_ping(small, large)
            print(
                f"{mode}: {small.instructions:,} instructions for {small.pings:,} pings, "
                f"{large.instructions:,} for {large.pings:,}: {figures[mode]:,.0f} a ping",
                flush=True,
            )
    finally:
        asyncio.run(remove(run))
    results = {
        "tracking.instructions_per_ping": round(figures["service"]),
        "tracking.bare_instructions_per_ping": round(figures["bare"]),
        "tracking.instruction_ratio": round(figures["bare"] / figures["service"], 3),
    }
    for name, value in results.items():
        print(f"{name} = {value}")
    if args.no_record or tree.root != REPO_ROOT.resolve():
        return
    record(results)


if __name__ == "__main__":
    main()
