"""`kj-sim`: the simulated city.

kj-sim demo [--duration S]   start the four services, drive them, show the live dashboard,
                             and with --duration end with a report read back from PostgreSQL
kj-sim drive [--duration S]  drive services that are already running (no dashboard)
"""

import argparse
import asyncio
import os
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import numpy as np
import structlog
from rich.console import Console
from rich.live import Live

from kj_runtime.db import connect
from kj_runtime.kafka import make_consumer, make_producer
from kj_runtime.lifecycle import stop_on_signals
from kj_runtime.logging import configure_logging
from kj_runtime.settings import ServiceSettings, run_dir
from kj_schemas.city import City, load_city
from kj_schemas.codec import decode
from kj_schemas.topics import PATROL_PINGS, UNITS_STATE
from kj_schemas.tracking import UnitState
from kj_sim.alarms import AlarmStream, Burst
from kj_sim.dashboard import render
from kj_sim.demo_login import demo_login
from kj_sim.device_paths import DevicePings
from kj_sim.figures import read_figures
from kj_sim.fleet import Fleet
from kj_sim.pings import PingPublisher
from kj_sim.report import write_report
from kj_sim.runner import AlarmPoster, Simulation, Terminals
from kj_sim.services import CONSOLE, DEVICES, SERVICES, ServiceProcesses

log = structlog.get_logger(__name__)
PROMETHEUS_ROUNDS_S = 30.0
DEV_ALARM_TOKEN = "dev-sy110-token"  # noqa: S105 - the demo integration's documented dev token


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kj-sim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["demo", "drive"])
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds; default: until Ctrl-C"
    )
    # default: a new city each run (a run right after another with the same seed calls from the
    # same places, and intake merges those calls into the open incidents the other left)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--per-hour", type=float, default=240.0, help="incidents per hour")
    parser.add_argument("--alarm-url", default=SERVICES[0].url)
    parser.add_argument("--notify-url", default=SERVICES[3].url)
    parser.add_argument("--token", default=DEV_ALARM_TOKEN, help="the 110 integration's token")
    parser.add_argument(
        "--via",
        choices=["devices", "kafka"],
        default=None,
        help="how positions go in: through the device gateway (808 for cars, HTTP for "
        "motorcycles; the demo's default) or straight onto patrol.pings (drive's default)",
    )
    parser.add_argument(
        "--dev-secret",
        default=os.environ.get("KJ_NOTIFY_DEV_TOKEN_SECRET", ""),
        help="the notify gateway's dev-mode terminal token secret",
    )
    return parser


class UnitBoard:
    """Units by status, from the compacted `units.state` topic, as a command centre sees it."""

    def __init__(self) -> None:
        self.states: dict[str, UnitState] = {}

    async def run(self, settings: ServiceSettings, stop: asyncio.Event) -> None:
        consumer = make_consumer(settings.kafka, UNITS_STATE.name, group_id=None)
        await consumer.start()
        try:
            while not stop.is_set():
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        try:
                            state = decode(UnitState, record.value)
                        except ValueError:
                            continue
                        self.states[state.unit_id] = state
        finally:
            await consumer.stop()

    def by_platform(self, platforms: list[str]) -> dict[str, Counter[str]]:
        """Every platform's units by status (a platform no unit reported from yet: none)."""
        found: dict[str, Counter[str]] = {p: Counter() for p in platforms}
        for state in self.states.values():
            found.setdefault(state.platform_id, Counter())[str(state.status)] += 1
        return found


def _terminals(args: argparse.Namespace) -> Terminals:
    from kj_sim.terminals import GatewayTerminals

    return GatewayTerminals(args.notify_url, dev_secret=args.dev_secret, seed=args.seed)


async def _device_pings(city: City, settings: ServiceSettings, dev_secret: str) -> DevicePings:
    """The fleet's devices bound in the registry, the 808 terminals signed in."""
    port = int(os.environ.get("KJ_DEVICES_JT808_PORT") or 8808)
    pings = DevicePings(
        city, jt808=("127.0.0.1", port), http_url=DEVICES.url, dev_secret=dev_secret
    )
    connection = await connect(settings.postgres)
    try:
        await pings.bind(connection)
    finally:
        await connection.close()
    deadline = time.monotonic() + 30  # the registry is read again every few seconds
    while True:
        try:
            await pings.connect()
            return pings
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


async def _drive(args: argparse.Namespace, *, with_services: bool) -> int:
    settings = ServiceSettings()
    city = load_city(settings.city_dir)
    stop = asyncio.Event()
    stop_on_signals(stop)
    out = run_dir("demo" if with_services else "drive")  # this run's logs, report, pictures
    services = ServiceProcesses(out / "logs") if with_services else None
    if with_services and not args.dev_secret:
        args.dev_secret = secrets.token_hex(16)  # this run's terminals only
    started_at = datetime.now(UTC)
    console = Console()
    if args.seed is None:
        args.seed = secrets.randbelow(1_000_000)
    console.print(f"seed {args.seed} (--seed {args.seed} runs this city again)")
    if services:
        console.print(
            "starting the four services, the device gateway and the console "
            f"(logs in {out / 'logs'}) ..."
        )
        password = await demo_login(settings.postgres)
        services.start(
            {
                "KJ_NOTIFY_DEV_TOKEN_SECRET": args.dev_secret,
                # this run's console sessions, and its way to alarm intake (unmerge)
                "KJ_CONSOLE_SESSION_SECRET": secrets.token_hex(32),
                "KJ_CONSOLE_ALARM_URL": args.alarm_url,
                "KJ_CONSOLE_ALARM_TOKEN": args.token,
                # the officer app's tickets (devices signs them, notify checks them), and its
                # socket where notify listens this run (its port may be moved)
                "KJ_TERMINAL_TICKET_SECRET": secrets.token_hex(32),
                "KJ_DEVICES_NOTIFY_WS_URL": args.notify_url.replace("http://", "ws://").rstrip("/")
                + "/v1/terminals/ws",
            }
        )
        try:
            await services.wait_ready()
        except (TimeoutError, RuntimeError) as error:
            console.print(f"[red]{error}[/red]")
            services.stop()
            return 1
        # printed once, on this terminal only: never logged, never stored but as its hash
        console.print(
            f"[bold]console[/bold] {CONSOLE.url}  sign in as [bold]demo[/bold] with the password "
            f"[bold]{password}[/bold] (a dispatcher, for this run)"
        )
    producer = make_producer(settings.kafka, linger_ms=20)
    await producer.start()
    http = httpx.AsyncClient(base_url=args.alarm_url, timeout=5)
    pings: PingPublisher | DevicePings = PingPublisher(
        producer, settings.kafka.topic(PATROL_PINGS.name)
    )
    if (args.via or ("devices" if with_services else "kafka")) == "devices":
        pings = await _device_pings(city, settings, args.dev_secret or secrets.token_hex(16))
    board = UnitBoard()
    simulation = Simulation(
        city,
        fleet=Fleet(city, np.random.default_rng(args.seed)),
        alarms=AlarmStream(
            city,
            seed=args.seed,
            per_hour=args.per_hour,
            start=datetime.now(UTC),
            bursts=(Burst(120, 8),),
        ),
        pings=pings,  # type: ignore[arg-type]
        poster=AlarmPoster(http, args.token),
        terminals=_terminals(args),
    )
    board_task = asyncio.create_task(board.run(settings, stop))
    sim_task = asyncio.create_task(simulation.run(stop, duration_s=args.duration))
    connection = await connect(settings.postgres)
    platform_names = {p.id: p.name for p in city.platforms}
    endpoints = [
        f"console {CONSOLE.url} (user demo)",
        f"API docs {args.alarm_url}/docs",
        f"Prometheus http://127.0.0.1:{os.environ.get('KJ_PROMETHEUS_PORT', '19090')}",
        f"logs {out / 'logs'}",
    ]
    clock = time.monotonic()
    try:
        if with_services:
            with Live(console=console, refresh_per_second=1, screen=False) as live:
                while not sim_task.done():
                    figures = await read_figures(connection, started_at)
                    live.update(
                        render(
                            figures,
                            units_by_platform=board.by_platform(list(platform_names)),
                            platform_names=platform_names,
                            sim=simulation.stats.snapshot(),
                            endpoints=endpoints,
                            elapsed_s=time.monotonic() - clock,
                        )
                    )
                    await asyncio.wait([sim_task], timeout=1.0)
        stats = await sim_task
        if with_services and args.duration is not None:
            # the demo's Prometheus scrapes and evaluates its rules every 5 s, and the board's
            # snapshot samples every 15 s: the services stay up 30 s more, so the board has the
            # run's last arrivals as the report does (an arrival 13 s before the stop was missed)
            await asyncio.sleep(PROMETHEUS_ROUNDS_S)
        if args.duration is not None:
            figures, markdown, png = await write_report(
                connection, started_at, out, stats.snapshot(), ended=datetime.now(UTC)
            )
            console.print(markdown.read_text(encoding="utf-8"))
            console.print(f"report: {markdown}\nhistogram: {png}")
    finally:
        stop.set()
        await asyncio.gather(board_task, return_exceptions=True)
        await connection.close()
        await http.aclose()
        if isinstance(pings, DevicePings):
            await pings.close()
        await producer.stop()
        if services:
            codes = services.stop()
            console.print(f"services stopped: {codes}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging("sim", level="warning")
    return asyncio.run(_drive(args, with_services=args.mode == "demo"))


if __name__ == "__main__":
    sys.exit(main())
