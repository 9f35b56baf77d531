"""The human summary of `bench/results.json`: every figure with what it means and its target,
written to `bench/SUMMARY.md` (the README quotes it). `make bench` and `make study` run this."""

import json
import sys
from dataclasses import dataclass

from bench.record import RESULTS

SUMMARY = RESULTS.with_name("SUMMARY.md")


@dataclass(frozen=True)
class Figure:
    key: str
    meaning: str
    target: str = ""
    at_least: float | None = None  # the figure must be >= this
    at_most: float | None = None  # the figure must be <= this (strictly below for latencies)

    def verdict(self, value: object) -> str:
        if not isinstance(value, int | float):
            return ""
        if self.at_least is not None:
            return "met" if value >= self.at_least else "not met"
        if self.at_most is not None:
            return "met" if value < self.at_most else "not met"
        return ""


FIGURES = [
    Figure(
        "alarm.intake_per_s",
        "alarms answered 201 (committed with their outbox rows) a second, closed loop of 50 "
        "connections; the outbox relay may fall behind meanwhile",
        "≥ 1,000",
        at_least=1000,
    ),
    Figure(
        "alarm.open_loop_answered_201",
        "share of the alarms offered at 1,000/s (open loop, relay publishing meanwhile) that "
        "were answered 201",
        "all",
        at_least=1.0,
    ),
    Figure(
        "alarm.rate_answered_per_s",
        "201s a second in that run, from its first send to its last answer (the last answers' "
        "latency included, so a little under the offered rate when every alarm is answered)",
    ),
    Figure("alarm.p50_ms", "intake latency at 1,000/s offered, median, from the scheduled send"),
    Figure("alarm.p99_ms", "the same, 99th percentile", "< 50 ms", at_most=50),
    Figure(
        "tracking.pings_per_s",
        "pings a second through the unit-state process (validation, state, arrival, check-in)",
        "≥ 20,000",
        at_least=20000,
    ),
    Figure(
        "tracking.bare_pings_per_s",
        "a bare aiokafka getmany loop that only decodes the same records",
    ),
    Figure(
        "tracking.ratio",
        "service rate / bare rate, median of 3 side-by-side runs",
        "≥ 0.5",
        at_least=0.5,
    ),
    Figure("tracking.bytes_per_unit", "memory per tracked unit (bytes)"),
    Figure(
        "dispatch.alarm_to_workorder_p50_ms",
        "alarm accepted → work order published, median, 5,000 pings/s in the background",
    ),
    Figure(
        "dispatch.alarm_to_workorder_p99_ms",
        "the same, 99th percentile (batch window included)",
        "< 100 ms",
        at_most=100,
    ),
    Figure(
        "dispatch.candidate_search_median_us",
        "candidate search over 100,000 units, median per query (µs)",
        "< 100 µs",
        at_most=100,
    ),
    Figure(
        "notify.delivery_p50_ms",
        "work order published → frame on the terminal, median, 1,000 terminals",
    ),
    Figure("notify.delivery_p99_ms", "the same, 99th percentile", "< 50 ms", at_most=50),
    Figure(
        "console.bytes_per_s",
        "bytes a second to one browser, 2,000 units moving at 1 Hz (JSON before compression)",
    ),
    Figure(
        "console.update_main_thread_p99_ms",
        "the browser's main-thread time to take one socket message, 99th percentile (ms)",
    ),
    Figure(
        "console.long_tasks_over_50ms",
        "main-thread tasks over 50 ms in that minute: the page stays responsive",
        "0",
        at_most=1,
    ),
    Figure(
        "study.late_arrivals_reduction_vs_closest_2x",
        "fewer late arrivals than closest-idle at 2x load (fraction; published: ≈ 0.18)",
    ),
    Figure("study.attainment_1x", "share of incidents on target at normal load, full policy"),
]


def render(results: dict[str, object]) -> str:
    lines = [
        "# Benchmark summary",
        "",
        f"Measured {results.get('measured_at', '?')} on {results.get('machine.cores', '?')} cores, "
        f"Python {results.get('machine.python', '?')}; the broker and the database are the real "
        "local ones (`make up`). Every figure is in `bench/results.json`.",
        "",
        "| figure | value | target | | what it is |",
        "| --- | --- | --- | --- | --- |",
    ]
    known = set()
    for figure in FIGURES:
        known.add(figure.key)
        value = results.get(figure.key)
        shown = (
            "not measured"
            if value is None
            else f"{value:,}"
            if isinstance(value, int | float)
            else str(value)
        )
        lines.append(
            f"| `{figure.key}` | {shown} | {figure.target} | {figure.verdict(value)} "
            f"| {figure.meaning} |"
        )
    extra = sorted(
        k for k in results if k not in known and not k.startswith("machine.") and k != "measured_at"
    )
    if extra:
        lines += ["", "Supporting figures (described in each benchmark's docstring):", ""]
        lines += [f"- `{k}`: {results[k]}" for k in extra]
    return "\n".join(lines) + "\n"


def main() -> int:
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    SUMMARY.write_text(render(results), encoding="utf-8")
    print(SUMMARY.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
