"""The instruction-count bench's arithmetic and its reading of callgrind's summary
(bench/bench_instructions.py): a wrong per-ping figure would misjudge every change it compares."""

import pytest

from bench.bench_instructions import Count, collected, per_ping

CALLGRIND_STDERR = """==17519== Callgrind, a call-graph generating cache profiler
==17519== Command: .venv/bin/python bench/callgrind_phase.py service r1 service-small
==17519==
2026-12-04 16:52:37 [info     ] ping_partitions_assigned       partitions=[0, 1]
==17519==
==17519== Events    : Ir
==17519== Collected : 8256836582
==17519==
==17519== I   refs:      8,256,836,582
"""


def test_the_count_is_callgrinds_collected_line_not_the_log_above_it() -> None:
    assert collected(CALLGRIND_STDERR) == 8_256_836_582


def test_a_run_that_counted_nothing_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="Collected"):
        collected("==1== Command: python\nTraceback (most recent call last):\n")


def test_what_both_runs_do_once_cancels_out_of_the_cost_of_a_ping() -> None:
    start_up = 3_900_000_000
    small = Count(pings=20_000, instructions=start_up + 20_000 * 33_000)
    large = Count(pings=60_000, instructions=start_up + 60_000 * 33_000)
    assert per_ping(small, large) == 33_000


def test_the_larger_run_must_have_more_pings() -> None:
    with pytest.raises(ValueError, match="larger run"):
        per_ping(Count(60_000, 5), Count(20_000, 9))
