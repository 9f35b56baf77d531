"""Issue 20, item 2: the end-to-end bench's stack with two processes of every service that
scales (`bench/bench_e2e.py --replicas 2`, small: 2,000 units pinging, 100 terminals split over
the two notify gateways, calls alternating between the two intakes), checked in PostgreSQL:
nothing lost, nothing assigned twice, and both processes of alarm intake and of tracking did
part of the work. Four to five minutes with the stack's start on this machine."""

import argparse
import os
from typing import Any

import pytest

from bench.bench_e2e import REPLICAS, run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.timeout(600),
    # nine processes on two cores take 4-5 minutes here, and the CI's 20 minutes have no room
    # for them (nor for the 3-minute soak); `KJ_REPLICAS_CI=1 make test` runs it, and
    # `bench_e2e --replicas 2` measures the same at a province's scale
    pytest.mark.skipif(
        os.environ.get("KJ_REPLICAS_CI") != "1",
        reason="KJ_REPLICAS_CI=1 runs the two-replica stack",
    ),
]


@pytest.fixture(scope="module")
async def figures() -> dict[str, Any]:
    # `run` raises ReplicasViolated, naming what it found, when the record is wrong
    args = argparse.Namespace(
        units=2000,
        terminals=100,
        rate=2.0,
        seconds=20.0,
        rounds=1,
        split_tracking=False,
        replicas=2,
    )
    return await run(args)


async def test_no_call_accepted_is_lost(figures: dict[str, Any]) -> None:
    assert figures[f"{REPLICAS}_calls_accepted"] > 20
    assert figures[f"{REPLICAS}_lost"] == 0


async def test_no_unit_or_alarm_is_assigned_twice(figures: dict[str, Any]) -> None:
    assert figures[f"{REPLICAS}_assigned_twice"] == 0


async def test_every_call_accepted_in_the_round_reached_a_screen(figures: dict[str, Any]) -> None:
    # half of the terminals sit on the gateway that did not store their work order
    assert figures["e2e.on_screen_share_two_replicas"] == 1.0


@pytest.mark.parametrize(
    ("figure", "processes"),
    [
        ("alarms_accepted", ("alarm-1", "alarm-2")),
        ("pings_handled", ("patrol-tracking-1", "patrol-tracking-2")),
        ("terminals", ("notify-1", "notify-2")),
    ],
)
async def test_each_replica_did_part_of_the_work(
    figures: dict[str, Any], figure: str, processes: tuple[str, ...]
) -> None:
    done = {p: figures[f"{REPLICAS}_{figure}.{p}"] for p in processes}
    assert all(n > 0 for n in done.values()), done


async def test_one_dispatch_replica_holds_the_region(figures: dict[str, Any]) -> None:
    # one city is one region: one replica decides, the other stands by (decision 0032)
    held = [figures[f"{REPLICAS}_region_held.dispatch-{n}"] for n in (1, 2)]
    assert sorted(held) == [0, 1]
