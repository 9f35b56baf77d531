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
    Figure(
        "alarm.cpu_ms_per_alarm",
        "the service's CPU (user and system) per alarm answered 201 in the closed loop, the "
        "relay's publishing included: steadier than alarms/s on a shared machine",
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
    Figure(
        "tracking.instruction_ratio",
        "the same ratio by instructions a ping, counted by callgrind (bare loop's / service's; "
        "`bench_instructions`): the host's noise does not move it",
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
        "e2e.call_to_screen_p50_ms",
        "POST /v1/alarms → the work order's frame read on the terminal, median of 3 rounds' "
        "medians; 20,000 units pinging at 1 Hz and 1,000 terminals connected, 3 calls/s",
    ),
    Figure(
        "e2e.call_to_screen_p99_ms",
        "the same, 99th percentile (median of the rounds'); stages in `e2e.stage_*`",
        "< 100 ms",
        at_most=100,
    ),
    Figure(
        "e2e.on_screen_share",
        "calls accepted as new incidents whose work order reached a screen",
        "all",
        at_least=1.0,
    ),
    Figure(
        "devices.reports_per_s",
        "808 location reports a second into the broker (its own count), 10,000 terminals at 1/s "
        "on loopback, median of 3 runs",
        "≥ 10,000",
        at_least=10000,
    ),
    Figure(
        "devices.offered_per_s",
        "reports the terminals really wrote a second in the same window (the load generator's "
        "count; below 10,000 when it was starved too)",
    ),
    Figure("devices.delivered_share", "reports into the broker over reports offered"),
    Figure("devices.cpu_ms_per_1000_reports", "the gateway's CPU per 1,000 reports (ms)"),
    Figure(
        "devices.gateway_cpu_share",
        "the gateway's CPU seconds a second at that rate (one core = 1.0): its headroom",
    ),
    Figure(
        "devices.gateway_waited_share",
        "seconds a second the gateway was ready to run but waited for a core (its neighbours)",
    ),
    Figure(
        "devices.bytes_per_connection",
        "the gateway's memory per terminal connection (bytes)",
        "< 20 KiB",
        at_most=20 * 1024,
    ),
    Figure(
        "devices.metrics_max_ms",
        "the gateway's slowest /metrics answer under that load (ms): time left for the rest",
        "< 1,000 ms",
        at_most=1000,
    ),
    # `make soak` (bench/soak.py): the same stack and load as e2e.* for DURATION seconds
    Figure(
        "soak.lag_end_s",
        "the largest consumer lag of any group at the soak's last sample (s)",
        "< 5 s",
        at_most=5,
    ),
    Figure("soak.lag_max_s", "the largest consumer lag of any group at any sample (s)"),
    Figure("soak.e2e_p99_ms", "call to screen, 99th percentile over every call of the soak"),
    Figure(
        "soak.db_growth_mb_per_h",
        "the database's growth (MB/h), fitted; per table in the soak's report.json",
    ),
    *(
        Figure(
            f"soak.rss_growth_mb_per_h.{service}",
            f"{service}'s resident memory growth (MB/h), fitted after the first minute",
            "< 20 MB/h",
            at_most=20,
        )
        for service in ("alarm", "patrol-tracking", "dispatch", "notify")
    ),
    Figure(
        "study.late_arrivals_reduction_vs_closest_2x",
        "fewer late arrivals at 2x load than today (closest idle, random waiting): the system "
        "(posts, move-ups, full policy); mean over the seeds, interval in `_ci95`",
        "≥ 0.70",
        at_least=0.70,
    ),
    Figure(
        "study.dispatch_gain_like_for_like_2x",
        "fewer late arrivals at 2x than closest idle at the same posts: the dispatch policy alone",
        "≥ 0.18",
        at_least=0.18,
    ),
    Figure(
        "study.key_location_attainment_1x",
        "key locations (60 s, from the platform's receipt) on target at normal load, the system",
        "≥ 0.85",
        at_least=0.85,
    ),
    Figure(
        "study.attainment_1x",
        "incidents on target (1/3/5 from the platform's receipt) at normal load, the system",
        "≥ 0.95",
        at_least=0.95,
    ),
    Figure(
        "study.moves_per_unit_hour_2x",
        "trips ordered off calls (to a post, move-ups included) per unit and hour at 2x",
        "≤ 2",
        at_most=2.0,
    ),
    # `make chaos` (decision 0070 defines each); "0" targets: fewer than 1
    Figure(
        "chaos.accepted_lost",
        "alarms answered 201/200 under chaos with no outcome (no record, never dispatched...)",
        "0",
        at_most=1,
    ),
    Figure(
        "chaos.duplicate_work_orders",
        "work orders that should not exist (second primary, after close, unrecorded)",
        "0",
        at_most=1,
    ),
    Figure(
        "chaos.units_double_assigned",
        "units that held two work orders at once in the work orders' history",
        "0",
        at_most=1,
    ),
    Figure(
        "chaos.alarms_stranded",
        "alarms that waited longer than their target with no notice to the command centre",
        "0",
        at_most=1,
    ),
    Figure(
        "chaos.false_accept_timeouts",
        "orders withdrawn for accept timeout though an acceptance was confirmed in time",
        "0",
        at_most=1,
    ),
    Figure(
        "chaos.recovery_max_s",
        "worst time from a fault to the first work order of an alarm posted after it (s)",
        "< 10 s",
        at_most=10,
    ),
    Figure(
        "chaos.poison_records_blocking",
        "poison records a consumer group could not get past while later records waited",
        "0",
        at_most=1,
    ),
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
