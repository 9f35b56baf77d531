"""The e2e bench says which process used the cores and whose event loop stalled over the
rounds, from two readings of each process's CPU and loop-lag histogram, how much of the
machine its hypervisor took, and how often the database's commits stalled."""

import math

from bench.e2e_stack import Vitals, vitals_figures
from bench.proc import HostJiffies

INF = math.inf
QUIET = HostJiffies(0, 0, 0)  # no machine time passes: no host figures


def _lag(within_10ms: float, within_25ms: float, within_50ms: float, total: float) -> dict:
    return {0.01: within_10ms, 0.025: within_25ms, 0.05: within_50ms, INF: total}


def test_a_window_gives_each_process_its_cores_and_the_bucket_its_99th_stall_fell_in() -> None:
    before = {"dispatch": (10.0, _lag(100, 100, 100, 100)), "notify": (3.0, _lag(50, 50, 50, 50))}
    after = {
        # 600 probes in the window: 582 within 10 ms, 6 more within 25, 12 more within 50
        "dispatch": (22.0, _lag(682, 688, 700, 700)),
        "notify": (4.5, _lag(650, 650, 650, 650)),
    }
    figures = vitals_figures(Vitals(before, QUIET), Vitals(after, QUIET), 60.0, "e2e")
    assert figures["e2e.cores.dispatch"] == 0.2
    assert figures["e2e.cores.notify"] == 0.025
    assert figures["e2e.loop_lag_p99_ms.dispatch"] == 50.0  # 2% of probes were 25-50 ms late
    assert figures["e2e.loop_lag_over_25ms_share.dispatch"] == 0.02
    assert figures["e2e.loop_lag_p99_ms.notify"] == 10.0
    assert figures["e2e.loop_lag_over_25ms_share.notify"] == 0.0


def test_the_machine_line_gives_its_busy_and_stolen_shares_and_no_process_figures() -> None:
    before = Vitals({}, HostJiffies(total=1000, idle=500, stolen=10))
    after = Vitals({}, HostJiffies(total=2000, idle=800, stolen=110))  # 300 idle, 100 stolen
    figures = vitals_figures(before, after, 5.0, "e2e")
    assert figures == {"e2e.host_busy_share": 0.7, "e2e.host_steal_share": 0.1}


def test_a_process_started_during_the_window_is_left_out_rather_than_counted_from_zero() -> None:
    figures = vitals_figures(
        Vitals({}, QUIET), Vitals({"alarm": (5.0, _lag(10, 10, 10, 10))}, QUIET), 10.0, "e2e"
    )
    assert figures == {}


def test_the_commit_probe_counts_the_window_s_stalled_commits_and_not_the_warm_up_s() -> None:
    # a stall of 900 ms during the warm-up, before the first reading, is not the rounds'
    warm_up = (0.9, 0.002)
    rounds = (0.003,) * 97 + (0.1, 0.25, 0.004)  # 100 probe commits, two of them stalled
    figures = vitals_figures(
        Vitals({}, QUIET, warm_up), Vitals({}, QUIET, warm_up + rounds), 10.0, "e2e"
    )
    assert figures == {
        "e2e.db_commit_p99_ms": 100.0,
        "e2e.db_commit_max_ms": 250.0,
        "e2e.db_commit_stalls": 2,
    }


def test_the_window_counts_the_records_every_service_refused_in_it() -> None:
    # 218 pings refused before the rounds (the warm-up) are not the rounds'
    before = Vitals({}, QUIET, (), {"patrol-tracking": 218.0, "alarm": 1.0, "notify": 0.0})
    after = Vitals({}, QUIET, (), {"patrol-tracking": 338.0, "alarm": 1.0, "notify": 3.0})
    assert vitals_figures(before, after, 60.0, "e2e") == {"e2e.dead_letters": 123.0}


def test_refusals_are_not_counted_for_a_window_a_service_was_not_read_at_the_start_of() -> None:
    after = Vitals({}, QUIET, (), {"patrol-tracking": 5.0})
    assert vitals_figures(Vitals({}, QUIET), after, 60.0, "e2e") == {}
