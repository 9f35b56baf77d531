"""The JT/T 808 gateway under a province's fleet: 10,000 terminal connections on loopback, each
signed in (register, authenticate) and sending one location report a second; every report
answered with 0x8001 and published to `patrol.pings` (a batch per partition per flush).

The gateway runs as its own process, `kj-devices`, as in production; the terminals run in a
second process (bench/devices_load.py) so their CPU is not the gateway's (it is measured apart).
Each run starts a fresh gateway and fleet and measures a window after the fleet has signed in
and warmed up; `--runs` runs (3), every figure the median over them (the machine is shared and
noisy; each run's own figures are printed, the load average at the start of each run too):
- `devices.reports_per_s`: reports sustained into the broker: GpsPings on `patrol.pings` per
  second of the window, counted by the broker (the end offsets of the topic's partitions at
  both ends of the window), whatever the gateway thinks it sent;
- `devices.offered_per_s`: reports the terminals wrote per second of the same window (the load
  generator's own count at both ends, SIGUSR1): a gateway can only be judged at the rate it
  was offered; `devices.delivered_share` is the first over the second;
- `devices.cpu_ms_per_1000_reports`: the gateway process's user + system CPU per 1,000 reports
  (`devices.cpu_sys_ms_per_1000_reports` the system part: the sockets' sends and receives)
  (`devices.gateway_cpu_share`: its CPU seconds per second of the window, one core = 1.0: the
  headroom left at this rate); `devices.load_cpu_ms_per_1000_reports` the load generator's;
  `devices.gateway_waited_share` and `devices.load_waited_share`: the seconds per second each
  process was ready to run but waited for a core (the neighbours' share of the blame);
- `devices.bytes_per_connection`: the gateway's resident memory with the fleet connected and
  reporting, less its memory before the first connection, per connection;
- `devices.metrics_max_ms`: the slowest answer to `/metrics`, asked every 2 s through the
  window (the loop's time for anything but the terminals). Not more often: each answer lists
  the process's 10,000 open files (prometheus_client's process collector); asked every half
  second that was a seventh of the gateway's CPU in a profile, where Prometheus asks every 5 s.
Target: 10,000 reports/s on one process, under 20 KiB per connection. `--rate 1.5` offers more
than one report a second each (15,000/s), to see how much the gateway has beyond the target;
such a run records its figures under `devices.at_<rate>x.` instead.

The open-file limit is raised here (both processes inherit it); everything is bounded in time.
Own database and topic prefix, removed afterwards.

    uv run python -m bench.bench_devices [--runs 3] [--rate 1.0]
"""

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from statistics import median

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.proc import cpu_seconds, cpu_split
from bench.record import record
from kj_runtime.city_store import store_city
from kj_runtime.kafka import create_topics, delete_topics, partitions_of, wait_for_kafka
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings, run_dir
from kj_schemas.topics import PATROL_PINGS
from kj_sim.services import free_port

CONNECTIONS = int(os.environ.get("BENCH_DEVICES_CONNECTIONS", "10000"))
WARMUP_S = float(os.environ.get("BENCH_DEVICES_WARMUP_S", "10"))
WINDOW_S = float(os.environ.get("BENCH_DEVICES_WINDOW_S", "30"))
FIRST = 13_000_000_000
CODE = "bench-code"


def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(wanted, soft), max(wanted, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def waited_seconds(pid: int) -> float:
    """Time the process's threads were ready to run but waited for a core (the scheduler's
    run-queue wait, /proc/<pid>/task/*/schedstat): a gateway starved by its neighbours shows
    here, not in its CPU time."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match
    return int(match.group(1)) * 1024


async def on_broker(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> int:
    """Records on the pings topic so far: the sum of its partitions' end offsets (the broker's
    own count, whatever state the gateway's event loop is in)."""
    return sum((await consumer.end_offsets(partitions)).values())


async def seed(pg: PostgresSettings) -> None:
    apply_migrations(pg)
    await store_city(pg, REPO_ROOT / "cities" / "shaoyang")
    connection = await asyncpg.connect(pg.dsn())
    try:
        units = [(f"BENCH-{i:05d}", "SY-P01", "car", f"bench {i}") for i in range(CONNECTIONS)]
        await connection.copy_records_to_table(
            "units", records=units, columns=["unit_id", "platform_id", "kind", "callsign"]
        )
        devices = [(str(FIRST + i), "jt808", f"BENCH-{i:05d}", CODE) for i in range(CONNECTIONS)]
        await connection.copy_records_to_table(
            "devices", records=devices, columns=["device_id", "protocol", "unit_id", "secret"]
        )
    finally:
        await connection.close()


async def wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(60):
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"kj-devices exited with {process.returncode}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)


async def http_answers(client: httpx.AsyncClient, window_s: float) -> list[float]:
    """Seconds each `/metrics` took to answer, asked every 2 s through the window: a
    gateway whose loop is busy with sockets answers late (it took 50 s once)."""
    took: list[float] = []
    end = time.monotonic() + window_s
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            await client.get("/metrics", timeout=max(end - started, 1.0))
        except httpx.HTTPError:
            pass
        took.append(time.monotonic() - started)
        await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
    return took


async def sent_so_far(load: subprocess.Popen[bytes]) -> tuple[float, int]:
    """The load generator's own count of the reports it wrote, and the moment it counted."""
    assert load.stdout is not None
    load.send_signal(signal.SIGUSR1)
    line = await asyncio.wait_for(asyncio.to_thread(load.stdout.readline), 30)
    told = json.loads(line)
    return float(told["t"]), int(told["sent"])


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the gateway through the window (`--profile`; py-spy through uvx, not a
    dependency of the project), as collapsed stacks (flamegraph.pl's input)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    uvx = shutil.which("uvx")
    if uvx is None:
        raise SystemExit("--profile needs uvx (uv's tool runner) on the PATH")
    return subprocess.Popen(  # noqa: S603 - a fixed command
        [
            uvx,
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def measure(
    kafka: KafkaSettings, pg: PostgresSettings, rate: float, profile_to: Path | None
) -> dict[str, float | int | str]:
    load_at_start = round(os.getloadavg()[0], 2)
    http_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "KJ_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "KJ_PG_DATABASE": pg.database,
        "KJ_DEVICES_HTTP_PORT": str(http_port),
        "KJ_DEVICES_JT808_PORT": str(port),
        "KJ_DEVICES_GROUP_ID": f"bench-devices-{uuid.uuid4().hex[:6]}",
        "KJ_DEVICES_LOG_LEVEL": "warning",
        "KJ_DEVICES_LOG_JSON": "true",
    }
    log_path = run_dir("bench-devices") / "kj-devices.log"
    gateway = subprocess.Popen(  # noqa: ASYNC220 - one process for the whole run
        [sys.executable, "-m", "kj_devices.main"],
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    load: subprocess.Popen[bytes] | None = None
    partitions = await partitions_of(kafka, kafka.topic(PATROL_PINGS.name))
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None)
    await consumer.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=60) as client:
        try:
            await wait_ready(client, gateway)
            await asyncio.sleep(1)
            rss_idle = rss_bytes(gateway.pid)
            deadline = 120 + WARMUP_S + WINDOW_S + 60
            load = subprocess.Popen(  # noqa: ASYNC220, S603 - our own module
                [
                    sys.executable,
                    "-m",
                    "bench.devices_load",
                    "--port",
                    str(port),
                    "--first",
                    str(FIRST),
                    "--count",
                    str(CONNECTIONS),
                    "--deadline",
                    str(deadline),
                    "--rate",
                    str(rate),
                ],
                stdout=subprocess.PIPE,
            )
            assert load.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(load.stdout.readline), 180)
            signed = json.loads(line)
            print(f"signed in: {signed}", file=sys.stderr)
            await asyncio.sleep(WARMUP_S)
            at0, sent0 = await sent_so_far(load)
            (user0, sys0), load_cpu0, wait0, load_wait0, count0, t0 = (
                cpu_split(gateway.pid),
                cpu_seconds(load.pid),
                waited_seconds(gateway.pid),
                waited_seconds(load.pid),
                await on_broker(consumer, partitions),
                time.monotonic(),
            )
            spy = None if profile_to is None else profile(gateway.pid, WINDOW_S, profile_to)
            answers = await http_answers(client, WINDOW_S)
            if spy is not None:
                await asyncio.to_thread(spy.wait, 60)
            at1, sent1 = await sent_so_far(load)
            (user1, sys1), load_cpu1, wait1, load_wait1, count1, t1 = (
                cpu_split(gateway.pid),
                cpu_seconds(load.pid),
                waited_seconds(gateway.pid),
                waited_seconds(load.pid),
                await on_broker(consumer, partitions),
                time.monotonic(),
            )
            rss_busy = rss_bytes(gateway.pid)
            load.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(asyncio.to_thread(load.communicate), 60)
            stats = json.loads(out.decode().strip().splitlines()[-1])
        finally:
            await consumer.stop()
            for process in (load, gateway):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(asyncio.to_thread(process.wait), 30)
                    except TimeoutError:
                        process.kill()
    reports = count1 - count0
    cpu0, cpu1 = user0 + sys0, user1 + sys1
    seconds = t1 - t0
    per_1000 = reports / 1000 if reports else float("nan")
    return {
        "devices.connections": int(signed["signed_in"]),
        "devices.sign_in_s": round(float(signed["sign_in_s"]), 1),
        "devices.offered_per_s": round((sent1 - sent0) / (at1 - at0), 1),
        "devices.reports_per_s": round(reports / seconds, 1),
        "devices.delivered_share": round(reports / seconds / ((sent1 - sent0) / (at1 - at0)), 4),
        "devices.cpu_ms_per_1000_reports": round((cpu1 - cpu0) * 1000 / per_1000, 1),
        "devices.cpu_sys_ms_per_1000_reports": round((sys1 - sys0) * 1000 / per_1000, 1),
        "devices.gateway_cpu_share": round((cpu1 - cpu0) / seconds, 3),
        # the generator's per report it wrote (the gateway's is per report the broker got)
        "devices.load_cpu_ms_per_1000_reports": round(
            (load_cpu1 - load_cpu0) * 1000 / ((sent1 - sent0) / 1000), 1
        )
        if sent1 > sent0
        else -1.0,
        "devices.gateway_waited_share": round((wait1 - wait0) / seconds, 3),
        "devices.load_waited_share": round((load_wait1 - load_wait0) / seconds, 3),
        "devices.bytes_per_connection": round((rss_busy - rss_idle) / int(signed["signed_in"])),
        "devices.answer_bytes": int(stats["answer_bytes"]),
        "devices.load_behind": int(stats["behind"]),
        "devices.metrics_max_ms": round(max(answers) * 1000, 1),
        "devices.load_at_start": load_at_start,
    }


def medians(runs: list[dict[str, float | int | str]]) -> dict[str, float | int | str]:
    """Each figure the median over the runs; the load averages and the reports/s of every run
    kept beside them."""
    figures: dict[str, float | int | str] = {}
    for name, first in runs[0].items():
        values = [float(run[name]) for run in runs]
        figures[name] = (
            type(first)(median(values)) if isinstance(first, int) else round(median(values), 4)
        )
    figures["devices.runs"] = len(runs)
    figures["devices.load_at_start_each"] = " ".join(
        str(run["devices.load_at_start"]) for run in runs
    )
    figures["devices.reports_per_s_each"] = " ".join(
        str(run["devices.reports_per_s"]) for run in runs
    )
    figures["devices.load_at_start"] = max(float(run["devices.load_at_start"]) for run in runs)
    return figures


async def main(runs: int, rate: float, profile_to: Path | None) -> None:
    limit = raise_open_files(2 * CONNECTIONS + 4096)
    if limit < CONNECTIONS + 1024:
        raise SystemExit(f"open-file limit {limit} is below {CONNECTIONS + 1024}")
    run_id = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench-{run_id}.")
    pg = PostgresSettings(database=f"kj_bench_devices_{run_id}")
    await wait_for_kafka(kafka, deadline_s=30)
    admin_pg = await asyncpg.connect(pg.model_copy(update={"database": "postgres"}).dsn())
    await admin_pg.execute(f'create database "{pg.database}"')
    created: list[str] = []
    each: list[dict[str, float | int | str]] = []
    try:
        await seed(pg)
        created, _ = await create_topics(kafka)
        for n in range(runs):
            async with asyncio.timeout(600):
                each.append(
                    await measure(
                        kafka, pg, rate, profile_to and profile_to.with_suffix(f".{n + 1}.txt")
                    )
                )
            print(f"run {n + 1}/{runs}: {json.dumps(each[-1])}", file=sys.stderr)
    finally:
        await admin_pg.execute(f'drop database if exists "{pg.database}" with (force)')
        await admin_pg.close()
        await delete_topics(kafka, created)
    figures = medians(each)
    if rate != 1.0:  # a look beyond the target: kept apart from the target's figures
        figures = {
            n.replace("devices.", f"devices.at_{rate:g}x.", 1): v for n, v in figures.items()
        }
    record(figures)
    for name, value in figures.items():
        print(f"{name:45} {value}")


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=3, help="fresh gateway and fleet each (medians)"
    )
    parser.add_argument("--rate", type=float, default=1.0, help="reports a second per terminal")
    parser.add_argument("--profile", type=Path, help="py-spy the gateway to this file (.N.txt)")
    args = parser.parse_args()
    uvloop.run(main(args.runs, args.rate, args.profile))
