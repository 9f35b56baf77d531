"""The JT/T 808 gateway under a province's fleet: 10,000 terminal connections on loopback, each
signed in (register, authenticate) and sending one location report a second; every report
answered with 0x8001 and published to `patrol.pings` (a batch per partition per flush).

The gateway runs as its own process, `kj-devices`, as in production; the terminals run in a
second process (bench/devices_load.py) so their CPU is not the gateway's. Measured over a
window after the fleet has signed in and warmed up:
- `devices.reports_per_s`: GpsPings that reached the broker per second (the end offsets of
  `patrol.pings` at both ends of the window);
- `devices.cpu_ms_per_1000_reports`: the gateway process's user + system CPU per 1,000;
- `devices.bytes_per_connection`: the gateway's resident memory with the fleet connected and
  reporting, less its memory before the first connection, per connection;
- `devices.metrics_max_ms`: the slowest answer to `/metrics`, asked every half second through
  the window (the loop's time for anything but the terminals).
Target: 10,000 reports/s on one process, under 20 KiB per connection.

The open-file limit is raised here (both processes inherit it); everything is bounded in time.
Own database and topic prefix, removed afterwards.

    uv run python -m bench.bench_devices
"""

import asyncio
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.record import record
from kj_runtime.city_store import store_city
from kj_runtime.kafka import create_topics, delete_topics, partitions_of, wait_for_kafka
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings, run_dir
from kj_schemas.topics import PATROL_PINGS

CONNECTIONS = int(os.environ.get("BENCH_DEVICES_CONNECTIONS", "10000"))
WARMUP_S = float(os.environ.get("BENCH_DEVICES_WARMUP_S", "10"))
WINDOW_S = float(os.environ.get("BENCH_DEVICES_WINDOW_S", "30"))
FIRST = 13_000_000_000
CODE = "bench-code"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(wanted, soft), max(wanted, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    """Seconds each `/metrics` took to answer, asked every half second through the window: a
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
        await asyncio.sleep(max(0.0, 0.5 - (time.monotonic() - started)))
    return took


async def measure(kafka: KafkaSettings, pg: PostgresSettings) -> dict[str, float | int | str]:
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
                ],
                stdout=subprocess.PIPE,
            )
            assert load.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(load.stdout.readline), 180)
            signed = json.loads(line)
            print(f"signed in: {signed}", file=sys.stderr)
            await asyncio.sleep(WARMUP_S)
            cpu0, count0, t0 = (
                cpu_seconds(gateway.pid),
                await on_broker(consumer, partitions),
                time.monotonic(),
            )
            answers = await http_answers(client, WINDOW_S)
            cpu1, count1, t1 = (
                cpu_seconds(gateway.pid),
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
    seconds = t1 - t0
    return {
        "devices.connections": int(signed["signed_in"]),
        "devices.sign_in_s": round(float(signed["sign_in_s"]), 1),
        "devices.offered_per_s": float(CONNECTIONS),
        "devices.reports_per_s": round(reports / seconds, 1),
        "devices.cpu_ms_per_1000_reports": round((cpu1 - cpu0) * 1000 / (reports / 1000), 1)
        if reports
        else -1.0,
        "devices.bytes_per_connection": round((rss_busy - rss_idle) / int(signed["signed_in"])),
        "devices.answer_bytes": int(stats["answer_bytes"]),
        "devices.metrics_max_ms": round(max(answers) * 1000, 1),
        "devices.load_at_start": load_at_start,
    }


async def main() -> None:
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
    try:
        await seed(pg)
        created, _ = await create_topics(kafka)
        async with asyncio.timeout(600):
            figures = await measure(kafka, pg)
    finally:
        await admin_pg.execute(f'drop database if exists "{pg.database}" with (force)')
        await admin_pg.close()
        await delete_topics(kafka, created)
    record(figures)
    for name, value in figures.items():
        print(f"{name:45} {value}")


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
