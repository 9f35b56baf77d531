"""`make chaos`: the stack on its own broker and database, steady load through the external
contract, the faults on a schedule, poison records, then the verifier.

    python -m kj_sim.chaos [--profile ci|full] [--duration S] [--no-record] [--verify-only]

Phases (seconds after the load started): warm-up; the faults, one every `spacing_s`, each
kill followed at once by a restart and probes until an alarm posted after it is served; a
settling time; the poison records and more load; the load stops, the services drain, they
are stopped, and the verifier reads everything back. The figures go to bench/results.json,
the ledger and a report to <state>/last/. Every process started is stopped in the end."""

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import structlog

from kj_runtime.city_store import store_city
from kj_runtime.kafka import create_topics, make_producer
from kj_runtime.logging import configure_logging
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, ServiceSettings
from kj_schemas.city import load_city
from kj_schemas.topics import PATROL_PINGS
from kj_sim.alarms import AlarmStream
from kj_sim.chaos.faults import FaultRunner, Supervisor
from kj_sim.chaos.ledger import Ledger
from kj_sim.chaos.load import DroppingPings, LedgerPoster, LedgerTerminals, Prober
from kj_sim.chaos.poison import inject
from kj_sim.chaos.profiles import PROFILES, Profile
from kj_sim.chaos.readback import read_record, read_topics
from kj_sim.chaos.stack import ChaosPorts, ChaosStack
from kj_sim.chaos.verify import verify
from kj_sim.fleet import Fleet
from kj_sim.runner import Simulation

log = structlog.get_logger(__name__)
DEFAULT_STATE = REPO_ROOT / ".local" / "chaos"
DEV_ALARM_TOKEN = "dev-sy110-token"  # noqa: S105 - the sample integration's documented dev token


async def _until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _prepare(stack: ChaosStack) -> None:
    await stack.start_infra()

    async def database() -> None:
        await asyncio.to_thread(apply_migrations, stack.postgres)
        await store_city(stack.postgres, ServiceSettings().city_dir)

    await asyncio.gather(database(), create_topics(stack.kafka))  # each needs only its server
    stack.start_services()
    await stack.services.wait_ready(180)


async def _drive(
    stack: ChaosStack, profile: Profile, ledger: Ledger, seed: int, held: set[str]
) -> dict[str, Any]:
    """The load, the faults and the poison; returns what the simulator counted."""
    city = load_city(ServiceSettings().city_dir)
    processes = stack.services.services
    producer = make_producer(stack.kafka, linger_ms=20)
    await producer.start()
    http = httpx.AsyncClient(base_url=processes["alarm"].url, timeout=5)
    poster = LedgerPoster(http, DEV_ALARM_TOKEN, ledger)
    dev_secret = stack.env["KJ_NOTIFY_DEV_TOKEN_SECRET"]
    terminals = LedgerTerminals(
        processes["notify"].url, dev_secret=dev_secret, seed=seed, ledger=ledger
    )
    pings = DroppingPings(producer, stack.kafka.topic(PATROL_PINGS.name))
    now = datetime.now(UTC)
    simulation = Simulation(
        city,
        fleet=Fleet(city, np.random.default_rng(seed), on_scene_mean_s=profile.on_scene_mean_s),
        alarms=AlarmStream(
            city, seed=seed, per_hour=profile.alarms_per_hour, start=now, daily_profile=False
        ),
        pings=pings,
        poster=poster,
        terminals=terminals,
    )
    stop = asyncio.Event()
    started = ledger.marks["load_started"] = time.time()
    prober = Prober(
        AlarmStream(city, seed=seed + 1, per_hour=1, start=now, id_prefix="PROBE"),
        poster,
        simulation.stats,
        stack.postgres,
        started=started,
    )
    runner = FaultRunner(
        stack, pause_s=profile.pause_s, dispatch_down_s=profile.dispatch_down_s, held=held
    )
    sim_task = asyncio.create_task(simulation.run(stop))
    probes: list[asyncio.Task[None]] = []
    try:
        last_done = started - profile.spacing_s
        for offset, spec in profile.fault_times():  # each at least spacing_s after the last ended
            await _until(max(started + offset, last_done + profile.spacing_s))
            log.warning("fault_injecting", fault=spec, at_s=round(time.time() - started, 1))
            fault = await runner.inject(spec)
            ledger.faults.append(fault)
            last_done = time.time()
            window = max(profile.spacing_s, 30.0)
            probes.append(asyncio.create_task(prober.probe(fault.at, window_s=window)))
        await _until(max(started + profile.poison_at, last_done + profile.settle_s))
        await runner.settle()
        ledger.marks["poison_at"] = time.time()
        log.warning("poison_injecting", at_s=round(time.time() - started, 1))
        ledger.poison = await inject(producer, stack.kafka)
        await asyncio.sleep(profile.poison_s)
    finally:
        stop.set()
        for task in probes:
            task.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
        await prober.close()
        await asyncio.gather(sim_task, return_exceptions=True)
        ledger.marks["load_stopped"] = time.time()
        await terminals.close()
        await http.aclose()
        await producer.stop()
    return {**sim_task.result().snapshot(), "pings_dropped": pings.dropped}


def _report(
    run_dir: Path, figures: dict[str, Any], details: dict[str, Any], extra: dict[str, Any]
) -> None:
    (run_dir / "report.json").write_text(
        json.dumps({"figures": figures, "details": details, **extra}, indent=2, default=str),
        encoding="utf-8",
    )


async def run_chaos(
    profile: Profile,
    *,
    state_dir: Path = DEFAULT_STATE,
    ports: ChaosPorts | None = None,
    seed: int = 14,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One chaos run; returns (figures, details). Leaves nothing running."""
    run_dir = state_dir / "last"
    stack = ChaosStack(state_dir, run_dir, ports or ChaosPorts(), secrets.token_hex(16))
    stack.claim()
    ledger = Ledger()
    try:
        shutil.rmtree(run_dir, ignore_errors=True)
        (run_dir / "logs").mkdir(parents=True)
        await _prepare(stack)
        supervising = asyncio.Event()
        held: set[str] = set()
        supervisor = asyncio.create_task(Supervisor(stack, ledger.exits, held).run(supervising))
        try:
            sim = await _drive(stack, profile, ledger, seed, held)
            await asyncio.sleep(profile.drain_s)
        finally:
            supervising.set()
            await supervisor
        codes = await asyncio.to_thread(stack.services.stop, 15)
        ledger.marks["services_stopped"] = time.time()
        ledger.dump(run_dir)
        record = await read_record(stack.postgres)
        topics = await read_topics(stack.kafka)
        figures, details = verify(ledger, record, topics)
        figures["chaos.profile"] = profile.name
        figures["chaos.load_s"] = round(
            ledger.marks["load_stopped"] - ledger.marks["load_started"], 1
        )
        _report(
            run_dir,
            figures,
            details,
            {"simulator": sim, "exit_codes": codes, "marks": ledger.marks},
        )
        return figures, details
    finally:
        with contextlib.suppress(Exception):
            ledger.dump(run_dir)
        await stack.stop()
        stack.release()


async def verify_again(
    *, state_dir: Path = DEFAULT_STATE, ports: ChaosPorts | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The verifier once more on the last run (its ledger, its broker and database, started
    again through their scripts and stopped after): for a rule that changed."""
    run_dir = state_dir / "last"
    stack = ChaosStack(state_dir, run_dir, ports or ChaosPorts(), "-")
    stack.claim()
    try:
        ledger = Ledger.load(run_dir)
        for name in ("broker", "postgres"):
            if await stack.script(name, "start") != 0:
                raise RuntimeError(f"{name} did not start; see {stack.infra_log(name)}")
        record = await read_record(stack.postgres)
        topics = await read_topics(stack.kafka)
        figures, details = verify(ledger, record, topics)
        previous = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        for key in ("chaos.profile", "chaos.load_s"):
            figures[key] = previous["figures"][key]
        _report(
            run_dir,
            figures,
            details,
            {k: v for k, v in previous.items() if k not in ("figures", "details")},
        )
        return figures, details
    finally:
        await stack.stop()
        stack.release()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kj_sim.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-record", action="store_true", help="do not write bench/results.json")
    parser.add_argument(
        "--verify-only", action="store_true", help="verify the last run again (no new run)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging("chaos", level="warning")
    # the run's own clients complain through every broker outage it causes: expected
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    profile = PROFILES[args.profile]
    if args.duration is not None:
        profile = profile.lasting(args.duration)
    print(
        f"chaos: profile {profile.name}, {profile.load_s:.0f} s of load, "
        f"{len(profile.faults)} faults every {profile.spacing_s:.0f} s; state in {args.state_dir}",
        flush=True,
    )
    if args.verify_only:
        figures, _ = asyncio.run(verify_again(state_dir=args.state_dir))
    else:
        figures, _ = asyncio.run(run_chaos(profile, state_dir=args.state_dir, seed=args.seed))
    if not args.no_record:
        sys.path.insert(0, str(REPO_ROOT))
        from bench.record import record

        record(figures)
    for key in sorted(figures):
        print(f"  {key}: {figures[key]}")
    print(f"details: {args.state_dir / 'last' / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
