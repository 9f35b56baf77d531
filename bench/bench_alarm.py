"""Durable alarm intake: alarms/s answered 201 (committed with their outbox rows in
PostgreSQL) and the latency of those answers, against a live `kj-alarm` process.

Self-contained: a database and topic prefix of its own (created, migrated, seeded, dropped),
the service on a free loopback port, 5,000 distinct alarms from 50 keep-alive connections
(a minimal HTTP/1.1 client, so the load generator takes little of the 2 cores).

    uv run python -m bench.bench_alarm [--alarms 5000] [--concurrency 50]
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
from aiokafka.admin import AIOKafkaAdminClient

from bench.record import record
from kj_alarm.settings import DEV_TOKEN
from kj_runtime.city_store import store_city
from kj_runtime.kafka import create_topics
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bodies(count: int) -> list[bytes]:
    base = datetime(2040, 1, 1, tzinfo=UTC)
    run = uuid.uuid4().hex[:6]
    return [
        orjson.dumps(
            {
                "source": "sy110",
                "source_alarm_id": f"B{run}-{i:06d}",
                "reported_at": (base + timedelta(hours=i)).isoformat(),  # no duplicate calls
                "caller_phone": "13807391234",
                "location": {"lat": 27.1 + (i % 40) * 0.005, "lon": 111.3 + (i // 40 % 40) * 0.005},
                "category": "theft",
                "priority": 2,
                "description": "bench",
            }
        )
        for i in range(count)
    ]


async def _connection_worker(
    port: int, queue: list[bytes], latencies: list[float], statuses: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /v1/alarms HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {DEV_TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    try:
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
            if status == 201:
                latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(
    port: int, bodies: list[bytes], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    queue = list(reversed(bodies))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection_worker(port, queue, latencies, statuses) for _ in range(concurrency))
    )
    return time.perf_counter() - started, latencies, statuses


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(60):
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"kj-alarm exited with {process.returncode}")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in await reader.readline():
                    writer.close()
                    return
                writer.close()
            except OSError:
                pass
            await asyncio.sleep(0.2)


async def main(alarms: int, concurrency: int) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    pg = PostgresSettings(database=f"kj_bench_{run}")
    kafka = KafkaSettings(topic_prefix=f"bench-{run}.")
    admin = await asyncpg.connect(pg.model_copy(update={"database": "postgres"}).dsn())
    await admin.execute(f'create database "{pg.database}"')
    created: list[str] = []
    process: subprocess.Popen[bytes] | None = None
    try:
        apply_migrations(pg)
        await store_city(pg, REPO_ROOT / "cities" / "shaoyang")
        created, _ = await create_topics(kafka)
        port = _free_port()
        env = {
            **os.environ,
            "KJ_PG_DATABASE": pg.database,
            "KJ_PG_POOL_MAX": "20",
            "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "KJ_ALARM_HTTP_PORT": str(port),
            "KJ_ALARM_LOG_LEVEL": "warning",
        }
        process = subprocess.Popen([sys.executable, "-m", "kj_alarm.main"], env=env)  # noqa: ASYNC220
        await _wait_ready(port, process)
        await _load(port, _bodies(200), concurrency)  # warm-up: connections, prepared statements
        elapsed, latencies, statuses = await _load(port, _bodies(alarms), concurrency)
        figures = {
            "alarm.intake_per_s": round(len(latencies) / elapsed, 1),
            "alarm.p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
            "alarm.p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
            "alarm.bench_alarms": alarms,
            "alarm.bench_concurrency": concurrency,
        }
        print(f"answers: {statuses}; {len(latencies)} alarms answered 201 in {elapsed:.2f}s")
        return figures
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        if created:
            client = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
            await client.start()
            try:
                await client.delete_topics(created)
            finally:
                await client.close()
        await admin.execute(f'drop database if exists "{pg.database}" with (force)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    figures = asyncio.run(main(args.alarms, args.concurrency))
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    record(figures)
