"""Issue 14, "the proof as a suite": the CI profile of `make chaos` (every fault once, poison on
every consumed topic, on a broker and a database of its own; decisions 0070, 0071), then the
verifier's figures. What already holds on main is asserted; what does not yet is named below
and waits for its fix (dispatch failover and fencing, poison containment in every consumer):
move a key from NOT_YET to HOLDS when the fix lands, never the other way."""

import pytest

from kj_sim.chaos.profiles import PROFILES
from kj_sim.chaos.run import run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.serial, pytest.mark.timeout(1200)]

# zeros measured on main (2 ci and 3 full runs) and asserted
HOLDS = (
    "chaos.accepted_lost",
    "chaos.duplicate_work_orders",
    "chaos.units_double_assigned",
    "chaos.alarms_stranded",
    # since answers are judged by the gateway's receipt and every consumer runs the runtime's
    # one consume surface (issue 14): 0 and 0 in the ci run of 2026-12-01
    "chaos.false_accept_timeouts",
    "chaos.poison_records_blocking",
)
# not zero on main yet: asserted once their fixes land
NOT_YET: tuple[str, ...] = ()
RECOVERY_LIMIT_S = 10.0
# every recovery under 10 s: the broker's restart was the longest (8.8 to 10.7 s in the clean
# clones of 2026-12-01); since decision 0158 (the JVM maps a class-data-sharing archive) it was
# 7.56 s, and the next longest were the dispatch pause (7.1 s) and kill (6.6 s).
RECOVERY_HOLDS = True


@pytest.fixture(scope="module")
async def figures() -> dict[str, object]:
    measured, _ = await run_chaos(PROFILES["ci"])
    return measured


async def test_the_run_offered_load_and_injected_every_fault(figures: dict[str, object]) -> None:
    assert figures["chaos.faults"] == len(PROFILES["ci"].faults)
    assert figures["chaos.poison_records"] == 40
    assert int(figures["chaos.alarms_police_fault_phase"]) > 50  # type: ignore[call-overload]
    assert int(figures["chaos.work_orders"]) > 50  # type: ignore[call-overload]


def _not_yet(key: str) -> object:
    return pytest.param(
        key,
        marks=pytest.mark.skip(reason=f"{key}: not zero on main yet (issue 14); move to HOLDS"),
    )


@pytest.mark.parametrize("key", [*HOLDS, *(_not_yet(key) for key in NOT_YET)])
async def test_nothing_is_lost_duplicated_or_stranded_under_chaos(
    figures: dict[str, object], key: str
) -> None:
    assert figures[key] == 0, f"{key} = {figures[key]}; details: .local/chaos/last/report.json"


async def test_every_fault_is_recovered_from(figures: dict[str, object]) -> None:
    assert figures["chaos.faults_not_recovered"] == 0, figures


@pytest.mark.skipif(not RECOVERY_HOLDS, reason="recovery under 10 s: not yet on main (issue 14)")
async def test_every_fault_is_recovered_from_within_ten_seconds(
    figures: dict[str, object],
) -> None:
    assert float(figures["chaos.recovery_max_s"]) < RECOVERY_LIMIT_S, figures  # type: ignore[arg-type]
