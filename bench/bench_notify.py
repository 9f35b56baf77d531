"""Work order published to `dispatch.workorders` -> delivered on the terminal's WebSocket, with
1,000 terminals connected to one notify process.

Runs against the local broker and PostgreSQL (`make up`) in a database and topic prefix of its
own, removed afterwards. Notify runs as its own process (as in production); the terminals and
the publisher share this one. Three phases measured side by side in one run: one work order at
a time (the floor), a steady 50/s stream, and a 200/s stress stream.

The headline `notify.delivery_p50_ms` / `notify.delivery_p99_ms` is the steady 50/s stream
(1,500 work orders to units picked at random among the 1,000 connected, every delivery acked
as a terminal does, so receipts are recorded and published meanwhile); `notify.headline` says
so in the results. The steady stream runs as three rounds of 500; the median of the rounds'
p99 is also given, as one stall of the shared machine lands in one round only.

Latency is this process's clock at `producer.send` to this process's clock when the frame
arrives: the producer's 2 ms linger and the broker are included, and so is the terminals'
own event-loop lag (and whatever else shares the machine's cores). This process does not run
its garbage collector while measuring, so its pauses are not counted as notify's.

    uv run python -m bench.bench_notify
"""

import asyncio
import gc
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import websockets

from bench.proc import cpu_seconds
from bench.record import record
from kj_notify.domain.tokens import dev_token
from kj_runtime.kafka import create_topics, delete_topics, make_producer, wait_for_kafka
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import encode
from kj_schemas.enums import AlarmCategory, ResponseTier
from kj_schemas.topics import DISPATCH_WORKORDERS
from kj_schemas.workorders import WorkOrder
from kj_sim.services import free_port

TERMINALS = int(os.environ.get("BENCH_NOTIFY_TERMINALS", "1000"))
SINGLE = 100  # one at a time
ACK = os.environ.get("BENCH_NOTIFY_ACK", "1") == "1"
STEADY, STEADY_RATE = 1500, 50.0  # the headline figures: a busy city's peak, many times over
STEADY_ROUNDS = 3
IDLE_S = 5.0
STRESS, STRESS_RATE = 2000, 200.0  # how it degrades when pushed
SECRET = "bench-dev-secret"  # noqa: S105 - the demo dev secret, not a credential


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Terminals:
    def __init__(self, base: str, units: list[str]) -> None:
        self.base = base
        self.units = units
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.connections: list[Any] = []
        self.readers: list[asyncio.Task[None]] = []

    async def connect_all(self) -> None:
        for start in range(0, len(self.units), 100):
            chunk = self.units[start : start + 100]
            self.connections += await asyncio.gather(*(self._connect(u) for u in chunk))

    async def _connect(self, unit_id: str) -> Any:
        connection = await websockets.connect(
            f"{self.base}/v1/terminals/ws?unit_id={unit_id}",
            additional_headers={"Authorization": f"Bearer {dev_token(SECRET, unit_id)}"},
            open_timeout=30,
            max_queue=None,
        )
        self.readers.append(asyncio.create_task(self._read(connection)))
        return connection

    async def _read(self, connection: Any) -> None:
        try:
            async for raw in connection:
                now = time.perf_counter()
                frame = json.loads(raw)
                if frame["type"] != "work_order":
                    continue
                key = frame["work_order_id"]
                if key not in self.arrived:
                    self.arrived[key] = now
                    waiter = self.waiters.pop(key, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(now)
                if ACK:
                    await connection.send(
                        json.dumps({"type": "ack", "delivery_id": frame["delivery_id"]})
                    )
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


def order_for(unit_id: str) -> WorkOrder:
    now = datetime.now(UTC)
    return WorkOrder(
        work_order_id=uuid.uuid4(),
        action="assign",
        alarm_id=uuid.uuid4(),
        unit_id=unit_id,
        platform_id="SY-P01",
        category=AlarmCategory.theft,
        priority=2,
        tier=ResponseTier.central_city,
        target_seconds=300,
        scene={"lat": 27.2389, "lon": 111.4677},
        reported_at=now,
        issued_at=now,
        eta_seconds=120.0,
        accept_within_seconds=60,
        reason="nearest_available",
    )


async def wait_ready(base: str, deadline_s: float = 60) -> None:
    import httpx

    async with asyncio.timeout(deadline_s), httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)


async def measure(kafka: KafkaSettings, pg: PostgresSettings) -> dict[str, float | int | str]:
    load_at_start = round(os.getloadavg()[0], 2)
    port = free_port()
    env = {
        **os.environ,
        "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "KJ_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "KJ_PG_DATABASE": pg.database,
        "KJ_PG_POOL_MAX": "20",
        "KJ_NOTIFY_HTTP_PORT": str(port),
        "KJ_NOTIFY_DEV_TOKEN_SECRET": SECRET,
        "KJ_NOTIFY_LOG_LEVEL": "warning",
        "KJ_NOTIFY_LOG_JSON": "true",
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - one process for the whole run
        [sys.executable, "-m", "kj_notify.main"], env=env, stdout=subprocess.DEVNULL
    )
    producer = make_producer(kafka)
    terminals = Terminals(f"ws://127.0.0.1:{port}", [f"BENCH-{i:04d}" for i in range(TERMINALS)])
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        await producer.start()
        await terminals.connect_all()
        # this process plays 1,000 terminals and the publisher; its own collector pauses would
        # be measured as notify's latency, so it does not collect while measuring
        gc.collect()
        gc.freeze()
        gc.disable()
        topic = kafka.topic(DISPATCH_WORKORDERS.name)
        loop = asyncio.get_running_loop()
        rng = random.Random(7)  # noqa: S311 - picks units, not secrets

        async def send(unit_id: str) -> tuple[str, float, asyncio.Future[float]]:
            order = order_for(unit_id)
            key = str(order.work_order_id)
            waiter: asyncio.Future[float] = loop.create_future()
            terminals.waiters[key] = waiter
            start = time.perf_counter()
            await producer.send(topic, encode(order), key=unit_id.encode())
            return key, start, waiter

        # warm-up: consumer group joined, connections and caches warm
        for _ in range(20):
            _, _, waiter = await send(rng.choice(terminals.units))
            await asyncio.wait_for(waiter, 60)

        single: list[float] = []
        for _ in range(SINGLE):
            _, start, waiter = await send(rng.choice(terminals.units))
            single.append((await asyncio.wait_for(waiter, 30) - start) * 1000)

        async def stream(count: int, rate: float) -> list[float]:
            sent: list[tuple[float, asyncio.Future[float]]] = []
            began = time.perf_counter()
            for i in range(count):
                delay = began + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                _, start, waiter = await send(rng.choice(terminals.units))
                sent.append((start, waiter))
            async with asyncio.timeout(120):
                arrived = await asyncio.gather(*(w for _, w in sent))
            return [(end - start) * 1000 for (start, _), end in zip(sent, arrived, strict=True)]

        idle_before = cpu_seconds(server.pid)
        await asyncio.sleep(IDLE_S)  # connected, nothing to deliver: pings, polls, timers
        cpu_before = cpu_seconds(server.pid)
        idle_cpu_ms_per_s = (cpu_before - idle_before) * 1000 / IDLE_S
        rounds = [await stream(STEADY // STEADY_ROUNDS, STEADY_RATE) for _ in range(STEADY_ROUNDS)]
        steady = [latency for one in rounds for latency in one]
        steady_cpu_ms = (cpu_seconds(server.pid) - cpu_before) * 1000 / STEADY
        stress = await stream(STRESS, STRESS_RATE)
    finally:
        await terminals.close()
        await producer.stop()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    return {
        "notify.delivery_p50_ms": round(percentile(steady, 0.50), 2),
        "notify.delivery_p99_ms": round(percentile(steady, 0.99), 2),
        "notify.headline": f"steady {STEADY_RATE:.0f}/s, {TERMINALS} terminals connected",
        "notify.delivery_p99_round_median_ms": round(
            statistics.median(percentile(one, 0.99) for one in rounds), 2
        ),
        "notify.loadavg_1m_at_start": load_at_start,
        # notify's CPU time per work order in the steady stream (store, push, receipt, relay)
        "notify.server_cpu_ms_per_order": round(steady_cpu_ms, 2),
        # and with nothing to deliver, per second, the 1,000 terminals still connected
        "notify.server_idle_cpu_ms_per_s": round(idle_cpu_ms_per_s, 1),
        "notify.delivery_single_p50_ms": round(percentile(single, 0.50), 2),
        "notify.delivery_single_p99_ms": round(percentile(single, 0.99), 2),
        "notify.delivery_stress_p50_ms": round(percentile(stress, 0.50), 2),
        "notify.delivery_stress_p99_ms": round(percentile(stress, 0.99), 2),
        "notify.delivery_p99_stress_over_steady": round(
            percentile(stress, 0.99) / percentile(steady, 0.99), 2
        ),
        "notify.terminals_connected": TERMINALS,
        "notify.loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "notify.steady_rate_per_s": STEADY_RATE,
        "notify.stress_rate_per_s": STRESS_RATE,
    }


async def main() -> None:
    run_id = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench-{run_id}.")
    pg = PostgresSettings(database=f"kj_bench_notify_{run_id}")
    await wait_for_kafka(kafka, deadline_s=30)
    admin_pg = await asyncpg.connect(pg.model_copy(update={"database": "postgres"}).dsn())
    await admin_pg.execute(f'create database "{pg.database}"')
    created: list[str] = []
    try:
        apply_migrations(pg)
        created, _ = await create_topics(kafka)
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
