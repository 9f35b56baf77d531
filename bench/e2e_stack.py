"""The whole platform as the end-to-end benchmark and the soak drive it (issue 20): the four
services as processes against the shared broker and PostgreSQL (a database and topic prefix of
the run's own, removed at the end), a province's GPS load, terminals on the notify gateway, and
calls posted to alarm intake, each followed from `POST /v1/alarms` to the frame on a screen.

- The city: Shaoyang's zones and platforms with `terminals` units on them (every one with a
  terminal connected), and the rest of `units` on platforms at the other Hunan prefecture
  seats, 70 km and more away: beyond dispatch's range of Shaoyang's calls (30 km), so they load
  the GPS path (tracking, units.state, dispatch's fleet) but are never sent, and no work order
  goes to a unit without a screen (decision 0150).
- Positions: the simulator's fleet (`kj_sim.fleet`), pings encoded and published as the
  simulator does (`kj_sim.pings`) onto `patrol.pings`, 1 Hz, in a process of their own so that
  their second's work does not delay the terminals' clock.
- Terminals: the simulator's gateway terminals (`kj_sim.terminals`): acknowledge, accept after
  a few seconds, close the call some seconds later (the unit is free again). Each frame's
  arrival is stamped before anything else is done with it.
- Calls: the simulator's 110 stream (`kj_sim.alarms`) at a steady rate, no daily profile.
- Replicas (`replicas=2`, issue 20 item 2): two processes of every service that scales, each
  under its own name where its settings need one; the calls alternate between the intakes and
  the terminals between the gateways. One city is one dispatch region: one dispatch replica
  holds its lease and decides, the other stands by (decision 0032).

Every stage's time comes from the stamps the record already holds, all on this machine's clock:
the POST's send, `alarms.received_at` (intake's receipt), `dispatch_alarms.received_at`
(dispatch's recording transaction), `work_orders.issued_at` (the planning transaction),
`terminal_deliveries.stored_at` (notify's storing transaction) and the terminal's receipt;
beside them the two relays' sends, read from the records' timestamps (`RelayStamps`)."""

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import orjson
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.proc import HostJiffies, cpu_seconds
from kj_runtime import heap, loop_lag
from kj_runtime.city_store import store_city
from kj_runtime.kafka import (
    create_topics,
    delete_topics,
    make_consumer,
    make_producer,
    wait_for_kafka,
)
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings
from kj_schemas.city import City, load_city
from kj_schemas.topics import ALARMS_ACCEPTED, DISPATCH_WORKORDERS, PATROL_PINGS
from kj_sim.alarms import AlarmStream, Burst
from kj_sim.fleet import Fleet
from kj_sim.pings import PingPublisher
from kj_sim.runner import Simulation
from kj_sim.services import Service, ServiceProcesses, free_port
from kj_sim.terminals import GatewayTerminals, gateway_ws_url

SAMPLE_CITY = REPO_ROOT / "cities" / "shaoyang"
ALARM_TOKEN = "dev-sy110-token"  # noqa: S105 - intake's documented development token
# the other 13 prefecture seats of Hunan (WGS84, approximate): where the GPS-only units patrol
PREFECTURES = {
    "CS": (28.228, 112.939),
    "ZZ": (27.827, 113.134),
    "XT": (27.829, 112.944),
    "HY": (26.894, 112.572),
    "YY": (29.357, 113.129),
    "CD": (29.032, 111.699),
    "ZJ": (29.117, 110.479),
    "YI": (28.554, 112.355),
    "CZ": (25.770, 113.015),
    "YZ": (26.420, 111.613),
    "HH": (27.570, 109.998),
    "LD": (27.700, 111.994),
    "XX": (28.312, 109.739),
}
PLATFORMS_PER_PREFECTURE = 20
KINDS = ("motorcycle", "car", "motorcycle", "car", "command_vehicle")


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    """The stack's shape, the same for the e2e bench and the soak."""
    parser.add_argument(
        "--split-tracking",
        action="store_true",
        help="tracking's state and tracks roles in two processes (decision 0020)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        choices=(1, 2),
        default=1,
        help="processes of every service that scales (decision 0165)",
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def province_city(out: Path, *, units: int, terminals: int) -> City:
    """The sample city's files in `out` with its units replaced: `terminals` on Shaoyang's
    platforms (round robin, so every platform keeps units), `units - terminals` on platforms
    around the other prefecture seats."""
    if not len(load_city(SAMPLE_CITY).platforms) <= terminals <= units:
        raise ValueError("need 33 <= terminals <= units")
    out.mkdir(parents=True, exist_ok=True)
    doc = yaml.safe_load((SAMPLE_CITY / "city.yaml").read_text(encoding="utf-8"))
    for name in (doc["zones"], doc["checkpoints"]):
        shutil.copy(SAMPLE_CITY / name, out / name)
    local = [p["id"] for p in doc["platforms"]]
    rng = np.random.default_rng(20)
    far: list[dict[str, Any]] = []
    for code, (lat, lon) in PREFECTURES.items():
        for n in range(PLATFORMS_PER_PREFECTURE):
            far.append(
                {
                    "id": f"HN-{code}-P{n + 1:02d}",
                    "name": f"{code} platform {n + 1}",
                    "district": code,
                    "lat": round(lat + float(rng.uniform(-0.08, 0.08)), 5),
                    "lon": round(lon + float(rng.uniform(-0.08, 0.08)), 5),
                }
            )
    roster = [(local[i % len(local)], i) for i in range(terminals)]
    roster += [(far[i % len(far)]["id"], i) for i in range(units - terminals)]
    doc["platforms"] += far if units > terminals else []
    doc["units"] = [
        {
            "id": f"{p}-E{i:05d}",
            "platform": p,
            "kind": KINDS[i % len(KINDS)],
            "callsign": f"{p}-{i}",
        }
        for p, i in roster
    ]
    (out / "city.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_city(out)


# ---- positions, in a process of their own -------------------------------------------------


# each second's pings in ten slices, 100 ms apart: devices ping at their own moment in the
# second, not all at its top (decision 0167)
PING_SLICES = 10


def _drive_pings(bootstrap: str, prefix: str, city_dir: str, stop: Any, report: Any) -> None:
    import uvloop

    uvloop.run(_pings(bootstrap, prefix, city_dir, stop, report))


async def _pings(bootstrap: str, prefix: str, city_dir: str, stop: Any, report: Any) -> None:
    """Every unit of the city moves and pings once a second (the simulator's loop without
    calls or terminals) until `stop` (a multiprocessing Event) is set."""
    kafka = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    city = load_city(city_dir)
    producer = make_producer(kafka, acks=1, enable_idempotence=False, linger_ms=20)
    await producer.start()
    simulation = Simulation(
        city,
        fleet=Fleet(city, np.random.default_rng(7)),
        alarms=None,
        pings=PingPublisher(producer, kafka.topic(PATROL_PINGS.name)),
        poster=None,
        terminals=None,
        ping_slices=PING_SLICES,
    )
    done = asyncio.Event()

    async def watch() -> None:
        await asyncio.to_thread(stop.wait)
        done.set()

    watcher = asyncio.create_task(watch())
    cpu, started = time.process_time(), time.monotonic()
    try:
        stats = await simulation.run(done)
    finally:
        watcher.cancel()
        await producer.stop()
    report.put(
        {
            "pings_sent": stats.pings_sent,
            "ping_lag": stats.lag.summary(),
            "pinger_cpu_s": time.process_time() - cpu,
            "pings_per_s": stats.pings_sent / max(time.monotonic() - started, 1e-9),
        }
    )


# ---- Prometheus's scrapes, in a process of their own ------------------------------------------


SCRAPE_INTERVAL_S = 15.0  # the ServiceMonitors' (deploy/k8s/base/*.yaml)


def _scrape(urls: list[str], stop: Any, report: Any, interval_s: float = SCRAPE_INTERVAL_S) -> None:
    """Every service's `/metrics` every `interval_s` until `stop` (a multiprocessing
    Event) is set, the targets spread over the interval as Prometheus spreads its own. Reports
    every read that answered as (url, epoch seconds at its start, ms) (`reads`), and how many
    failed (`failed`); `scrape_figures` reads the report."""
    reads: list[tuple[str, float, float]] = []
    failed = 0
    started, offsets = time.monotonic(), [i / len(urls) for i in range(len(urls))]
    interval = 0
    # one client, its connections kept alive, as Prometheus keeps its own: a client made for
    # each scrape (its TLS context built anew) took 25 ms idle and 120-370 ms on the busy
    # machine, and that was what `metrics_scrape_max_ms` had measured
    with httpx.Client(timeout=10) as client:
        while True:
            for url, offset in zip(urls, offsets, strict=True):
                due = started + (interval + offset) * interval_s
                if stop.wait(max(due - time.monotonic(), 0.0)):
                    report.put({"reads": reads, "failed": failed})
                    return
                begun, at = time.monotonic(), time.time()
                try:
                    client.get(url).raise_for_status()
                    reads.append((url, at, (time.monotonic() - begun) * 1000))
                except httpx.HTTPError:
                    failed += 1
            interval += 1


def scrape_figures(report: dict[str, Any], names: dict[str, str], prefix: str) -> dict[str, Any]:
    """`<prefix>.metrics_scrapes`, `_failed`, `<prefix>.metrics_scrape_max_ms` and, per process
    (`names`: url -> process), `<prefix>.metrics_scrape_max_ms.<process>`: whose page was slow."""
    reads = report.get("reads", [])
    figures: dict[str, Any] = {
        f"{prefix}.metrics_scrapes": len(reads),
        f"{prefix}.metrics_scrapes_failed": report.get("failed", 0),
        f"{prefix}.metrics_scrape_max_ms": round(max((ms for *_, ms in reads), default=0.0), 1),
    }
    for url, _, ms in reads:
        key = f"{prefix}.metrics_scrape_max_ms.{names.get(url, url)}"
        figures[key] = max(figures.get(key, 0.0), round(ms, 1))
    return figures


# ---- the terminals ---------------------------------------------------------------------------


class ScreenTerminals(GatewayTerminals):
    """The simulator's terminals, each call's work order stamped the moment its frame is read,
    answered off the socket's reading task (the officer's seconds must not hold the next
    frame), and closed after a short stay so the unit is free again. With several notify
    gateways the terminals alternate between them, as a load balancer would spread them: a
    work order then often reaches the gateway that does not hold its unit's socket."""

    def __init__(
        self, notify_urls: Sequence[str], *, dev_secret: str, on_scene_s: float = 20.0
    ) -> None:
        super().__init__(notify_urls[0], dev_secret=dev_secret, seed=20, never_answer_share=0.0)
        self.gateways = [gateway_ws_url(url) for url in notify_urls]
        self.gateway_of: dict[str, int] = {}  # unit id -> the index of its gateway
        self.on_scene_s = on_scene_s
        self.screens: dict[str, tuple[float, str]] = {}  # alarm id -> (receipt, work order id)
        self._calls: set[asyncio.Task[None]] = set()

    async def run(self, fleet: Fleet, stop: asyncio.Event) -> None:
        self.gateway_of = {u: i % len(self.gateways) for i, u in enumerate(fleet.unit_ids)}
        await super().run(fleet, stop)

    def gateway_for(self, unit_id: str) -> str:
        return self.gateways[self.gateway_of.get(unit_id, 0)]

    async def _on_frame(self, unit_id: str, socket: Any, frame: dict[str, Any]) -> None:
        seen = time.time()
        order = frame.get("work_order") or {}
        call = (
            frame.get("type") == "work_order"
            and frame.get("action") == "assign"
            and not frame.get("withdrawn")
            and order.get("alarm_id")
        )
        if call and order.get("role", "primary") == "primary":
            self.screens.setdefault(order["alarm_id"], (seen, frame["work_order_id"]))
        if not call:
            await super()._on_frame(unit_id, socket, frame)
            return
        task = asyncio.create_task(self._take_call(unit_id, socket, frame))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _take_call(self, unit_id: str, socket: Any, frame: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # a dropped socket: the gateway sends it again
            await super()._on_frame(unit_id, socket, frame)  # ack, read, accepted, en route
            await asyncio.sleep(float(self.rng.uniform(0.5, 1.5)) * self.on_scene_s)
            await self.cleared(unit_id, frame["work_order_id"])

    async def close(self) -> None:
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)


# ---- calls -----------------------------------------------------------------------------------


@dataclass
class Posted:
    posted: float  # the POST's send, this machine's clock
    intake: int = 0  # which alarm intake process it was sent to (CallLoad.clients' index)
    answered: float = 0.0
    status: int = 0
    outcome: str = ""  # accepted | merged | diverted
    alarm_id: str | None = None


@dataclass
class CallLoad:
    """The 110 centre at a steady rate (bursts as the stream schedules them), every call's
    send and answer kept; with several intake processes the calls alternate between them."""

    clients: Sequence[httpx.AsyncClient]
    stream: AlarmStream
    posted: list[Posted] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def offer(self, seconds: float, *, offset: float = 0.0) -> list[Posted]:
        """Post the stream's calls due from `offset` to `offset + seconds`, each at its own
        moment, as a 110 centre pushes a call when it is taken; returns them once every one is
        answered. (Posted in 100 ms ticks, a quarter of the calls left at the same instant as
        another: the stream's times are continuous.)"""
        start = time.monotonic()
        these: list[Posted] = []
        while (at := self.stream.next_due()) <= offset + seconds:
            delay = start + (at - offset) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            for body in self.stream.due(at):
                entry = Posted(time.time(), intake=len(self.posted) % len(self.clients))
                these.append(entry)
                self.posted.append(entry)
                task = asyncio.create_task(self._post(body, entry))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        return these

    async def _post(self, body: dict[str, Any], entry: Posted) -> None:
        entry.posted = time.time()
        try:
            response = await self.clients[entry.intake].post(
                "/v1/alarms", json=body, headers={"Authorization": f"Bearer {ALARM_TOKEN}"}
            )
        except httpx.HTTPError:
            return
        entry.answered = time.time()
        entry.status = response.status_code
        if response.status_code in (200, 201):
            answer = response.json()
            entry.outcome = answer.get("status", "")
            entry.alarm_id = answer.get("alarm_id")


# ---- the relays' sends ------------------------------------------------------------------------


COMMIT_STALL_S = 0.1  # a probe commit this long waited for a stalled WAL flush


def commit_figures(durations: Sequence[float], prefix: str) -> dict[str, float]:
    """`<prefix>.db_commit_p99_ms`, `_max_ms` and `<prefix>.db_commit_stalls` (probe commits
    of 100 ms or more: a WAL flush that stalled, and every service's commits with it, or a
    machine too busy to run the probe) over a window's probe commits (seconds)."""
    if not (commits := sorted(durations)):
        return {}
    return {
        f"{prefix}.db_commit_p99_ms": round(percentile(commits, 0.99) * 1000, 1),
        f"{prefix}.db_commit_max_ms": round(commits[-1] * 1000, 1),
        f"{prefix}.db_commit_stalls": sum(1 for c in commits if c >= COMMIT_STALL_S),
    }


class CommitProbe:
    """The database's commit as every call's transactions meet it: every 100 ms, a
    transaction that takes a transaction id, so that its commit writes a WAL record and waits
    for its flush, in one round trip from this process. On this machine the WAL shares one
    virtual disk with the broker: a flush that stalls holds up every service's commit at once
    (and PostgreSQL's NOTIFY lock, taken at every outbox commit, queues them behind it). The
    bench counts such stalls beside the calls, so that a round's tail says whether it met one
    (decision 0181)."""

    INTERVAL_S = 0.1

    def __init__(self) -> None:
        self.durations: list[float] = []

    async def run(self, connection: asyncpg.Connection, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                started = time.perf_counter()
                await connection.execute("begin; select txid_current(); commit")
                self.durations.append(time.perf_counter() - started)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.INTERVAL_S)
        finally:
            await connection.close()


class RelayStamps:
    """When each relay handed a call's message to the broker: the record's timestamp (the
    producer's clock at `send`, this machine's) of the call's `alarms.accepted` record and of
    its primary `assign` on `dispatch.workorders`, read by a consumer of no group beside the
    services. They split the two hops through an outbox (commit, relay, broker, consumer) in
    two: the wait for the relay to send, and the broker and the consumer after it."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.accepted: dict[str, float] = {}  # alarm id -> the relay's send
        self.ordered: dict[str, float] = {}  # alarm id -> its primary assign's send
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = make_consumer(
            self.kafka, ALARMS_ACCEPTED.name, DISPATCH_WORKORDERS.name, group_id=None
        )
        await consumer.start()
        self._task = asyncio.create_task(self._read(consumer))

    async def _read(self, consumer: Any) -> None:
        accepted = self.kafka.topic(ALARMS_ACCEPTED.name)
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                for tp, records in batches.items():
                    for record in records:
                        self._stamp(record, is_alarm=tp.topic == accepted)
        finally:
            await consumer.stop()

    def _stamp(self, record: Any, *, is_alarm: bool) -> None:
        try:
            value = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            return
        sent = record.timestamp / 1000
        if is_alarm and value.get("alarm_id") and not value.get("amendment"):
            self.accepted.setdefault(str(value["alarm_id"]), sent)
        elif (
            not is_alarm
            and value.get("action") == "assign"
            and value.get("alarm_id")
            and value.get("role", "primary") == "primary"
        ):
            self.ordered.setdefault(str(value["alarm_id"]), sent)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


# ---- the stack -------------------------------------------------------------------------------

STAGES = (
    # (name, from, to): each from the stamps the record holds (module docstring)
    ("http_in", "posted", "intake_received"),
    ("intake_to_dispatch", "intake_received", "dispatch_received"),
    ("plan", "dispatch_received", "issued"),
    ("workorder_to_notify", "issued", "notify_stored"),
    ("push", "notify_stored", "on_screen"),
    # the two outbox hops, each split at its relay's send (RelayStamps)
    ("intake_to_relay", "intake_received", "alarm_relayed"),
    ("relay_to_dispatch", "alarm_relayed", "dispatch_received"),
    ("issued_to_relay", "issued", "order_relayed"),
    ("relay_to_notify", "order_relayed", "notify_stored"),
)


class E2EStack:
    """Start with `async with E2EStack(...) as stack:`; everything it made is removed on exit."""

    def __init__(
        self,
        *,
        units: int,
        terminals: int,
        rate_per_s: float,
        bursts: tuple[Burst, ...] = (),
        work_dir: Path,
        seed: int = 20,
        split_tracking: bool = False,
        replicas: int = 1,
    ) -> None:
        self.units, self.terminal_count, self.rate = units, terminals, rate_per_s
        self.bursts, self.seed = bursts, seed
        run = uuid.uuid4().hex[:8]
        self.run_id = run
        self.work_dir = work_dir / run
        self.kafka = KafkaSettings(topic_prefix=f"bench-e2e-{run}.")
        self.postgres = PostgresSettings(database=f"kj_bench_e2e_{run}")
        self.dev_secret = uuid.uuid4().hex
        self.replicas = replicas
        # the processes of each service, by the service's own name: `replicas` of every one
        # (issue 20, item 2), named `alarm-1`, `alarm-2`... when there are several
        self.processes: dict[str, list[str]] = {}
        services: list[Service] = []

        def add(command: str, prefix: str, name: str, *, role: str = "", named: str = "") -> None:
            for n in range(1, replicas + 1):
                process = name if replicas == 1 else f"{name}-{n}"
                env = [("KJ_TRACKING_ROLE", role)] if role else []
                # each replica under its own name where the service's settings need one (the
                # lease's owner and events group of dispatch, tracking's work-order group,
                # notify's NOTIFY sender); one process keeps the services' defaults, as before
                env += [(named, process)] if named and replicas > 1 else []
                services.append(Service(process, command, free_port(), prefix, tuple(env), True))
                self.processes.setdefault(name, []).append(process)

        add("kj-alarm", "KJ_ALARM_", "alarm")
        # `split_tracking`: tracking's two roles in two processes, as decision 0020 runs them
        # at scale (the tracks' COPY, a quarter of the one process's time at 20,000 pings/s,
        # off the unit states' path). On this 2-core machine it did not help: the soak's unit
        # states fell behind at the same pace either way (the cores are the limit), and the
        # extra process lengthened every other stage's wait for a core
        tracking = ("kj-patrol-tracking", "KJ_TRACKING_")
        if split_tracking:
            add(*tracking, "patrol-tracking", role="state", named="KJ_TRACKING_INSTANCE")
            add(*tracking, "patrol-tracking-tracks", role="tracks", named="KJ_TRACKING_INSTANCE")
        else:
            add(*tracking, "patrol-tracking", named="KJ_TRACKING_INSTANCE")
        add("kj-dispatch", "KJ_DISPATCH_", "dispatch", named="KJ_DISPATCH_INSTANCE")
        add("kj-notify", "KJ_NOTIFY_", "notify", named="KJ_NOTIFY_REPLICA_ID")
        self.services = ServiceProcesses(self.work_dir / "logs", services=services)
        self._created: list[str] = []
        self._admin: asyncpg.Connection | None = None
        self._pinger: multiprocessing.process.BaseProcess | None = None
        self._stop_pings: Any = None
        self._ping_report: Any = None
        self.ping_stats: dict[str, Any] = {}
        self._scraper: multiprocessing.process.BaseProcess | None = None
        self._stop_scrapes: Any = None
        self._scrape_report: Any = None
        self.scrape_stats: dict[str, Any] = {}
        self.relays = RelayStamps(self.kafka)
        self.terminals: ScreenTerminals | None = None
        self._terminal_stop = asyncio.Event()
        self._terminal_task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self.commit_probe = CommitProbe()
        self._commit_task: asyncio.Task[None] | None = None
        self.calls: CallLoad | None = None
        self.pg: asyncpg.Connection | None = None
        self.city: City | None = None
        self.offset = 0.0  # the call stream's clock, past the warm-up
        self.ready_s = 0.0  # the services' start, seconds
        self.shift_plan_s = 0.0  # the services' start to dispatch's first shift plan, seconds

    def url(self, name: str) -> str:
        return self.services.services[name].url

    async def __aenter__(self) -> "E2EStack":
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()

    async def _start(self) -> None:
        city_dir = self.work_dir / "city"
        self.city = province_city(city_dir, units=self.units, terminals=self.terminal_count)
        await wait_for_kafka(self.kafka, deadline_s=30)
        self._admin = await asyncpg.connect(
            self.postgres.model_copy(update={"database": "postgres"}).dsn()
        )
        await self._admin.execute(f'create database "{self.postgres.database}"')
        apply_migrations(self.postgres)
        await store_city(self.postgres, city_dir)
        self._created, _ = await create_topics(self.kafka)
        self.services.start(
            {
                "KJ_PG_DATABASE": self.postgres.database,
                "KJ_KAFKA_TOPIC_PREFIX": self.kafka.topic_prefix,
                "KJ_CITY_DIR": str(city_dir),
                "KJ_NOTIFY_DEV_TOKEN_SECRET": self.dev_secret,
                # consumer groups of the run's own: dispatch, tracking and notify name theirs
                # without the topic prefix, and a group shared with another run's processes
                # on the same broker rebalances whenever one of them starts or stops
                "KJ_DISPATCH_GROUP_ID": f"e2e-{self.run_id}-dispatch",
                "KJ_TRACKING_GROUP_ID": f"e2e-{self.run_id}-tracking",
                "KJ_NOTIFY_CONSUMER_GROUP": f"e2e-{self.run_id}-notify",
                "KJ_ALARM_LOG_LEVEL": "warning",
                "KJ_TRACKING_LOG_LEVEL": "warning",
                "KJ_DISPATCH_LOG_LEVEL": "warning",
                "KJ_NOTIFY_LOG_LEVEL": "warning",
            }
        )
        begun = time.monotonic()
        # every replica starts on the same cores: eight processes take about twice as long as
        # four (at 20,000 units the last of eight was not ready within 180 s)
        await self.services.wait_ready(deadline_s=180 * self.replicas)
        self.ready_s = time.monotonic() - begun
        self.pg = await asyncpg.connect(self.postgres.dsn())
        await self.relays.start()
        # positions first: dispatch knows no unit until tracking has published it
        context = multiprocessing.get_context("spawn")
        self._stop_pings, self._ping_report = context.Event(), context.Queue()
        self._pinger = context.Process(
            target=_drive_pings,
            args=(
                self.kafka.bootstrap,
                self.kafka.topic_prefix,
                str(city_dir),
                self._stop_pings,
                self._ping_report,
            ),
            daemon=True,
        )
        self._pinger.start()
        # a Prometheus reads every service's page while the calls go through, as deployed
        self._stop_scrapes, self._scrape_report = context.Event(), context.Queue()
        self._scraper = context.Process(
            target=_scrape,
            args=(
                [f"{service.url}/metrics" for service in self.services.services.values()],
                self._stop_scrapes,
                self._scrape_report,
            ),
            daemon=True,
        )
        self._scraper.start()
        self.terminals = ScreenTerminals(
            [self.url(name) for name in self.processes["notify"]], dev_secret=self.dev_secret
        )
        local = self.city.model_copy(
            update={"units": [u for u in self.city.units if u.platform.startswith("SY-")]}
        )
        roster = Fleet(local, np.random.default_rng(self.seed))
        self._terminal_task = asyncio.create_task(self.terminals.run(roster, self._terminal_stop))
        # this process stamps every frame read and every call sent: its own loop's stalls are
        # the instrument's error, read with the services' (vitals, as `bench`)
        self._probe_task = asyncio.create_task(loop_lag.probe(self._terminal_stop))
        self._commit_task = asyncio.create_task(
            self.commit_probe.run(await asyncpg.connect(self.postgres.dsn()), self._terminal_stop)
        )
        async with asyncio.timeout(120):
            while self.terminals.connected < len(local.units):  # noqa: ASYNC110 - a count
                await asyncio.sleep(0.5)
        self.calls = CallLoad(
            [
                httpx.AsyncClient(base_url=self.url(name), timeout=30)
                for name in self.processes["alarm"]
            ],
            AlarmStream(
                self.city,
                seed=self.seed,
                per_hour=self.rate * 3600,
                start=datetime.now(UTC),
                bursts=self.bursts,
                daily_profile=False,
                id_prefix=f"E2E{self.run_id}",
            ),
        )

    async def warm_up(self, deadline_s: float = 180, *, posts_deadline_s: float = 600) -> None:
        """The steady state before anything is measured: dispatch's first shift plan written
        (its planner's process works on it for tens of seconds at a province's scale, and a
        shift's plan comes three times a day, not with every call), then calls until one
        reaches a screen: every consumer joined, the fleet known. `shift_plan_s` keeps how long
        the plan took from the stack's start. Then this process's collector is settled."""
        assert self.calls is not None and self.terminals is not None and self.pg is not None
        started = time.monotonic()
        async with asyncio.timeout(posts_deadline_s):
            while not await self.pg.fetchval(  # noqa: ASYNC110 - a row in PostgreSQL
                "select exists (select 1 from dispatch_repositions where reason = 'shift_plan')"
            ):
                await asyncio.sleep(1.0)
        self.shift_plan_s = self.ready_s + time.monotonic() - started
        offset = 0.0
        async with asyncio.timeout(deadline_s):
            while True:
                posted = await self.calls.offer(2.0, offset=offset)
                offset += 2.0
                await asyncio.sleep(1.0)
                if any(p.alarm_id in self.terminals.screens for p in posted):
                    self.offset = offset
                    break
        # the bench's own process holds the city, the fleet and 1,000 terminals' sockets: a
        # full collection of it took 265 ms and a middle one 65 ms during a measured round,
        # and every frame read and call sent in that time was stamped late. Settled as each
        # service settles itself (kj_runtime.heap, decision 0012; decision 0179)
        heap.settle()

    async def vitals(self) -> "Vitals":
        """Per service process: its CPU seconds so far and its event loop's stalls so far
        (`kj_event_loop_lag_seconds`: bucket bound -> probes at most that late); and the
        machine's CPU time. Two readings, subtracted, give a window's cores and loop-lag tail."""
        processes: dict[str, tuple[float, dict[float, float]]] = {}
        dead_letters: dict[str, float] = {}
        async with httpx.AsyncClient(timeout=10) as client:
            for name, process in self.services.processes.items():
                text = (await client.get(f"{self.url(name)}/metrics")).text
                samples = [
                    s for family in text_string_to_metric_families(text) for s in family.samples
                ]
                buckets = {
                    float(s.labels["le"]): s.value
                    for s in samples
                    if s.name == "kj_event_loop_lag_seconds_bucket"
                }
                processes[name] = (cpu_seconds(process.pid), buckets)
                dead_letters[name] = sum(
                    s.value for s in samples if s.name == "kj_dead_letters_total"
                )
        own = {
            float(s.labels["le"]): s.value
            for s in loop_lag.LAG.collect()[0].samples
            if s.name.endswith("_bucket")
        }
        processes["bench"] = (time.process_time(), own)
        return Vitals(
            processes, HostJiffies.now(), tuple(self.commit_probe.durations), dead_letters
        )

    async def measure(self, seconds: float, *, settle_s: float = 30.0) -> dict[str, Any]:
        """Offer calls for `seconds`, wait up to `settle_s` for their screens; every call
        accepted (not merged or diverted) with its stages, or its reason for having none."""
        assert self.calls is not None and self.terminals is not None
        posted = await self.calls.offer(seconds, offset=self.offset)
        self.offset += seconds
        accepted = [p for p in posted if p.outcome == "accepted" and p.alarm_id]
        give_up = time.monotonic() + settle_s
        while time.monotonic() < give_up:
            if all(p.alarm_id in self.terminals.screens for p in accepted):
                break
            await asyncio.sleep(0.5)
        return await self.stages(posted)

    async def stages(self, posted: list[Posted]) -> dict[str, Any]:
        assert self.pg is not None and self.terminals is not None
        screens = self.terminals.screens
        accepted = [p for p in posted if p.outcome == "accepted" and p.alarm_id]
        rows = await self.pg.fetch(
            """select a.alarm_id::text as alarm_id,
                      extract(epoch from a.received_at) as intake_received,
                      extract(epoch from d.received_at) as dispatch_received,
                      extract(epoch from w.issued_at) as issued,
                      extract(epoch from t.stored_at) as notify_stored
               from alarms a
               join dispatch_alarms d using (alarm_id)
               join work_orders w on w.alarm_id = a.alarm_id
               join terminal_deliveries t
                 on t.work_order_id = w.work_order_id and t.action = 'assign'
               where w.work_order_id = any($1::uuid[])""",
            [screens[p.alarm_id][1] for p in accepted if p.alarm_id in screens],
        )
        found = {r["alarm_id"]: r for r in rows}
        stamps: list[dict[str, float]] = []
        for p in accepted:
            assert p.alarm_id is not None
            row = found.get(p.alarm_id)
            if row is None:
                continue
            stamps.append(
                {
                    "posted": p.posted,
                    "answered": p.answered,
                    "intake_received": float(row["intake_received"]),
                    "dispatch_received": float(row["dispatch_received"]),
                    "issued": float(row["issued"]),
                    "notify_stored": float(row["notify_stored"]),
                    "on_screen": screens[p.alarm_id][0],
                }
            )
            relayed = (
                ("alarm_relayed", self.relays.accepted),
                ("order_relayed", self.relays.ordered),
            )
            stamps[-1] |= {name: sent[p.alarm_id] for name, sent in relayed if p.alarm_id in sent}
        return {
            "offered": len(posted),
            "answered": sum(1 for p in posted if p.status in (200, 201)),
            "accepted": len(accepted),
            "on_screen": len(stamps),
            "stamps": stamps,
        }

    async def _stop(self) -> None:
        if self.calls is not None:
            for client in self.calls.clients:
                await client.aclose()
        self._terminal_stop.set()
        if self.terminals is not None:
            await self.terminals.close()
        if self._terminal_task is not None:
            await asyncio.gather(self._terminal_task, return_exceptions=True)
        for task in (self._probe_task, self._commit_task):
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
        await self.relays.stop()
        if self._scraper is not None:
            self.scrape_stats = await _end(self._scraper, self._stop_scrapes, self._scrape_report)
        if self._pinger is not None:
            self.ping_stats = await _end(self._pinger, self._stop_pings, self._ping_report)
        await asyncio.to_thread(self.services.stop, 20)
        if self.pg is not None:
            await self.pg.close()
        with contextlib.suppress(Exception):
            await delete_topics(self.kafka, self._created)
        if self._admin is not None:
            await self._admin.execute(
                f'drop database if exists "{self.postgres.database}" with (force)'
            )
            await self._admin.close()
        if os.environ.get("KJ_BENCH_KEEP") != "1":
            shutil.rmtree(self.work_dir / "city", ignore_errors=True)


async def _end(process: multiprocessing.process.BaseProcess, stop: Any, report: Any) -> Any:
    """Sets a helper process's `stop` and returns its report ({} when none came in 30 s)."""
    stop.set()
    result: Any = {}
    with contextlib.suppress(Exception):
        result = await asyncio.to_thread(report.get, True, 30)
    process.join(timeout=15)
    if process.is_alive():
        process.terminate()
    return result


def stage_figures(stamps: list[dict[str, float]], prefix: str) -> dict[str, float]:
    """p50, p99 and max (ms) of the whole path and of every stage, and intake's answer."""
    figures: dict[str, float] = {}
    spans = {"call_to_screen": ("posted", "on_screen"), "answer_201": ("posted", "answered")}
    spans |= {f"stage_{name}": (start, end) for name, start, end in STAGES}
    for name, (start, end) in spans.items():
        values = [1000 * (s[end] - s[start]) for s in stamps if s.get(start) and s.get(end)]
        if not values:
            continue
        figures[f"{prefix}.{name}_p50_ms"] = round(percentile(values, 0.50), 1)
        figures[f"{prefix}.{name}_p99_ms"] = round(percentile(values, 0.99), 1)
        figures[f"{prefix}.{name}_max_ms"] = round(max(values), 1)
    return figures


@dataclass(frozen=True)
class Vitals:
    """One reading: per process (CPU seconds, loop-lag buckets), the machine's CPU time, and
    the commit probe's durations so far (seconds, in order)."""

    processes: dict[str, tuple[float, dict[float, float]]]
    host: HostJiffies
    commits: tuple[float, ...] = ()
    dead_letters: dict[str, float] = field(default_factory=dict)  # per process, so far


def vitals_figures(before: Vitals, after: Vitals, seconds: float, prefix: str) -> dict[str, float]:
    """`<prefix>.cores.<process>` (CPU seconds a second over the window) and
    `<prefix>.loop_lag_p99_ms.<process>` (the bucket bound that 99% of the window's probes were
    within) and `<prefix>.loop_lag_over_25ms_share.<process>`; for the machine,
    `<prefix>.host_busy_share` (not idle) and `<prefix>.host_steal_share` (time the hypervisor
    gave to other guests: a stall no process of ours can see or shorten); for the database,
    the commit probe's figures over the window (`commit_figures`); `<prefix>.dead_letters`:
    records the services refused over the window (every process read both times). The load
    is valid calls and pings: any refusal is a defect of the load or of a service."""
    figures = commit_figures(after.commits[len(before.commits) :], prefix)
    if after.dead_letters and after.dead_letters.keys() <= before.dead_letters.keys():
        figures[f"{prefix}.dead_letters"] = sum(
            count - before.dead_letters[name] for name, count in after.dead_letters.items()
        )
    total = after.host.total - before.host.total
    if total > 0:  # the whole machine: how busy, how much taken from it
        idle = after.host.idle - before.host.idle
        figures[f"{prefix}.host_busy_share"] = round(1 - idle / total, 3)
        figures[f"{prefix}.host_steal_share"] = round(
            (after.host.stolen - before.host.stolen) / total, 3
        )
    for name, (cpu, buckets) in after.processes.items():
        if name not in before.processes:
            continue
        cpu_before, buckets_before = before.processes[name]
        figures[f"{prefix}.cores.{name}"] = round((cpu - cpu_before) / seconds, 3)
        window = {le: n - buckets_before.get(le, 0.0) for le, n in buckets.items()}
        probes = window.get(float("inf"), 0.0)
        if not probes:
            continue
        bounds = sorted(window)
        p99 = next(le for le in bounds if window[le] >= 0.99 * probes)
        figures[f"{prefix}.loop_lag_p99_ms.{name}"] = round(p99 * 1000, 1)
        figures[f"{prefix}.loop_lag_over_25ms_share.{name}"] = round(
            1 - window.get(0.025, 0.0) / probes, 4
        )
    return figures
