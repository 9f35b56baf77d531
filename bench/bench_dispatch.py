"""Dispatch benchmark (`uv run python -m bench.bench_dispatch`, against the stack `make up`
started). Two figures, each measured side by side with its baseline in one run:

1. Alarm accepted -> work order published, p50/p99, through the real broker and database:
   an AlarmAccepted produced on alarms.accepted, the dispatch service (its own process, batch
   window included) records, plans, writes and relays it, and the WorkOrder is read back from
   dispatch.workorders. Meanwhile another process sends 5,000 GPS pings/s on patrol.pings and
   each city unit's state once a second on units.state (what patrol tracking would pass on).
   Simulated terminals accept and close each work order so units return to patrol, and the
   positioning loop posts them again (its planner in its own process); the same run is then
   repeated with positioning off, side by side. 500 alarms at 20/s are measured; each one's
   time is also split into stages from wall-clock stamps
   (produce, consume, plan and write, relay, deliver) and the service's CPU share is recorded,
   because on a shared machine the tail follows the neighbours' load.
2. Candidate search over 100,000 units: median microseconds per query through the k-d tree
   (top-k by distance, re-ranked by ETA, as many options as the policy asks for a one-unit
   plan), beside a full numpy scan of every unit.

Uses its own database and topic prefix, removed at the end."""

import asyncio
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench.proc import cpu_seconds
from bench.record import record
from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.eta import StraightLineEta
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.policy import PolicyParams
from kj_runtime.city_store import store_city
from kj_runtime.db import connect
from kj_runtime.kafka import create_topics, delete_topics, wait_for_kafka
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import GeoPoint
from kj_schemas.city import load_city
from kj_schemas.codec import decode, encode
from kj_schemas.enums import (
    AlarmCategory,
    EventSource,
    ResponseTier,
    UnitKind,
    UnitStatus,
    WorkOrderAction,
    WorkOrderEventKind,
)
from kj_schemas.geo import LocalProjection
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import WorkOrder, WorkOrderEvent

LAT0, LON0 = 27.2412, 111.4688
ALARMS = 500
ALARM_RATE = 20.0  # per second
PING_RATE = 5000
SEARCH_UNITS = 100_000
SEARCH_QUERIES = 2000
CITY = load_city(REPO_ROOT / "cities" / "shaoyang")


def _point(rng: random.Random, spread_m: float) -> tuple[float, float]:
    return (
        LAT0 + rng.uniform(-spread_m, spread_m) / 110_574,
        LON0 + rng.uniform(-spread_m, spread_m) / 98_900,
    )


# ---- 1. candidate search -----------------------------------------------------------------


def bench_candidate_search() -> dict[str, float]:
    rng = random.Random(1)  # noqa: S311 - seeded, reproducible load
    now = datetime.now(UTC)
    fleet = Fleet(CandidateIndex(LocalProjection(LAT0, LON0), StraightLineEta()))
    kinds = list(UnitKind)
    for i in range(SEARCH_UNITS):
        lat, lon = _point(rng, 15_000)
        fleet.update(
            unit_id=f"U{i}",
            platform_id=f"P{i % 500}",
            kind=kinds[i % 3],
            status=UnitStatus.available if i % 4 else UnitStatus.en_route,
            lat=lat,
            lon=lon,
            fix_at=now,
            last_seen_at=now,
        )
    started = time.perf_counter()
    fleet.refresh_index(0.0)
    build_ms = (time.perf_counter() - started) * 1000
    queries = [_point(rng, 15_000) for _ in range(SEARCH_QUERIES)]
    want = PolicyParams().options_per_call + 1
    tree_us = []
    for lat, lon in queries:
        t0 = time.perf_counter_ns()
        fleet.index.nearest(lat, lon, now, accept=lambda u: u.dispatchable(now), want=want)
        tree_us.append((time.perf_counter_ns() - t0) / 1000)
    # baseline: a vectorised scan of every unit's distance (what the index avoids)
    units = list(fleet)
    lats = np.array([u.lat for u in units])
    lons = np.array([u.lon for u in units])
    free = np.array([u.dispatchable(now) for u in units])
    scan_us = []
    for lat, lon in queries[:200]:
        t0 = time.perf_counter_ns()
        d = np.hypot((lats - lat) * 110_574, (lons - lon) * 98_900)
        d[~free] = np.inf
        np.argpartition(d, 5)[:5]
        scan_us.append((time.perf_counter_ns() - t0) / 1000)
    tree, scan = statistics.median(tree_us), statistics.median(scan_us)
    print(
        f"candidate search over {SEARCH_UNITS} units: k-d tree median {tree:.1f} us, "
        f"p99 {np.percentile(tree_us, 99):.1f} us; full scan median {scan:.0f} us "
        f"({scan / tree:.0f}x); index build {build_ms:.0f} ms"
    )
    return {
        "dispatch.candidate_search_median_us": round(tree, 1),
        "dispatch.candidate_search_p99_us": round(float(np.percentile(tree_us, 99)), 1),
        "dispatch.candidate_scan_median_us": round(scan, 1),
        "dispatch.candidate_index_build_100k_ms": round(build_ms, 1),
    }


# ---- 2. alarm -> work order through the broker ----------------------------------------------


def _pinger(
    bootstrap: str, topic: str, rate: int, stop: Any, states_topic: str, fleet: list[UnitState]
) -> None:
    uvloop.run(_pings(bootstrap, topic, rate, stop, states_topic, fleet))


async def _pings(
    bootstrap: str, topic: str, rate: int, stop: Any, states_topic: str, fleet: list[UnitState]
) -> None:
    """`rate` pings a second until `stop` (a multiprocessing Event) is set, 5 minutes at most;
    and, as patrol tracking would publish them, each city unit's state once a second (moved a
    few metres), which dispatch consumes and indexes."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    rng = random.Random(2)  # noqa: S311 - seeded, reproducible load
    partitions = sorted(await producer.partitions_for(topic))
    partitioner = DefaultPartitioner()
    units = [
        (unit, key, partitioner(key, partitions, partitions))
        for unit in (f"PING-{i:04d}" for i in range(2000))
        for key in [unit.encode()]
    ]
    sent, states, started, cpu = 0, 0, time.monotonic(), time.process_time()
    try:
        while (elapsed := time.monotonic() - started) < 300 and not stop.is_set():
            while states < int(elapsed * len(fleet)):
                state = fleet[states % len(fleet)]
                now = datetime.now(UTC)
                state = state.model_copy(
                    update={
                        "lat": state.lat + rng.uniform(-20, 20) / 110_574,
                        "lon": state.lon + rng.uniform(-20, 20) / 98_900,
                        "fix_at": now,
                        "last_seen_at": now,
                    }
                )
                fleet[states % len(fleet)] = state
                await producer.send(states_topic, encode(state), key=state.unit_id.encode())
                states += 1
            due = int(elapsed * rate)
            if sent < due:  # one batch per partition: the load generator's CPU stays small
                batches = {p: producer.create_batch() for p in partitions}
                for _ in range(due - sent):
                    unit, key, partition = units[sent % len(units)]
                    lat, lon = _point(rng, 10_000)
                    value = (
                        f'{{"unit_id":"{unit}","ts":"{datetime.now(UTC).isoformat()}",'
                        f'"lat":{lat:.6f},"lon":{lon:.6f},"speed_kmh":30.0}}'
                    ).encode()
                    if batches[partition].append(key=key, value=value, timestamp=None) is None:
                        await producer.send_batch(batches[partition], topic, partition=partition)
                        batches[partition] = producer.create_batch()
                        batches[partition].append(key=key, value=value, timestamp=None)
                    sent += 1
                for partition, batch in batches.items():
                    if batch.record_count():
                        await producer.send_batch(batch, topic, partition=partition)
            await asyncio.sleep(0.005)
    finally:
        await producer.stop()
        print(
            f"pinger: {sent} pings and {states} unit states in {time.monotonic() - started:.1f} s, "
            f"{time.process_time() - cpu:.1f} s of CPU"
        )


async def bench_alarm_to_work_order(*, positioning: bool = True) -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench-{run_id}.")
    pg = PostgresSettings(database=f"kj_bench_{run_id}")
    admin = await connect(pg.model_copy(update={"database": "postgres"}))
    await admin.execute(f'create database "{pg.database}"')
    await wait_for_kafka(kafka)
    created, _ = await create_topics(kafka)
    dispatch: asyncio.subprocess.Process | None = None
    pinger: multiprocessing.process.BaseProcess | None = None
    try:
        apply_migrations(pg)
        await store_city(pg, REPO_ROOT / "cities" / "shaoyang")
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=0)
        await producer.start()
        rng = random.Random(3)  # noqa: S311 - seeded, reproducible load
        now = datetime.now(UTC)
        fleet: list[UnitState] = []
        for unit in CITY.units:
            lat, lon = _point(rng, 4000)
            state = UnitState(
                unit_id=unit.id,
                platform_id=unit.platform,
                kind=unit.kind,
                status=UnitStatus.available,
                lat=lat,
                lon=lon,
                fix_at=now,
                last_seen_at=now,
            )
            fleet.append(state)
            await producer.send(kafka.topic("units.state"), encode(state), key=unit.id.encode())
        await producer.flush()
        env = os.environ | {
            "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "KJ_PG_DATABASE": pg.database,
            "KJ_DISPATCH_HTTP_PORT": "8039",
            "KJ_DISPATCH_LOG_LEVEL": "warning",
            "KJ_DISPATCH_ETA__STALE_AFTER_S": "600",
            "KJ_DISPATCH_ETA__DROP_AFTER_S": "3600",
            "KJ_DISPATCH_POSITIONING": "true" if positioning else "false",
        }
        # KJ_BENCH_PROFILE=<file>: the service runs under cProfile, written when it stops
        profile = os.environ.get("KJ_BENCH_PROFILE")
        command = ["-m", "cProfile", "-o", profile] if profile else []
        dispatch = await asyncio.create_subprocess_exec(
            sys.executable, *command, "-m", "kj_dispatch.main", env=env, stdout=subprocess.DEVNULL
        )
        window_ms = 10  # the service's default batch_window_ms, included in every figure
        consumer = AIOKafkaConsumer(
            kafka.topic("dispatch.workorders"),
            bootstrap_servers=kafka.bootstrap,
            group_id=f"bench-{run_id}",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=5,
        )
        await consumer.start()
        context = multiprocessing.get_context("spawn")
        stop_pings = context.Event()
        pinger = context.Process(
            target=_pinger,
            args=(
                kafka.bootstrap,
                kafka.topic("patrol.pings"),
                PING_RATE,
                stop_pings,
                kafka.topic("units.state"),
                fleet,
            ),
        )
        pinger.start()
        sent_at: dict[uuid.UUID, float] = {}
        latencies: list[float] = []
        # per alarm, wall clock (s): sent, acked by the broker, relayed, read back
        stamps: dict[uuid.UUID, dict[str, float]] = {}
        done = asyncio.Event()

        async def read_orders() -> None:
            async for record in consumer:
                order = decode(WorkOrder, record.value)
                if (
                    order.action is not WorkOrderAction.assign
                    or order.role != "primary"
                    or order.alarm_id is None
                ):
                    continue
                t0 = sent_at.pop(order.alarm_id, None)
                if t0 is not None:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    if order.alarm_id in stamps:
                        stamps[order.alarm_id] |= {
                            "relayed": record.timestamp / 1000,
                            "read": time.time(),
                        }
                for kind in (WorkOrderEventKind.accepted, WorkOrderEventKind.closed):
                    answer = WorkOrderEvent(
                        work_order_id=order.work_order_id,
                        unit_id=order.unit_id,
                        kind=kind,
                        source=EventSource.terminal,
                        occurred_at=datetime.now(UTC),
                        disposition_code="resolved" if kind is WorkOrderEventKind.closed else None,
                    )
                    await producer.send(
                        kafka.topic("workorders.events"),
                        encode(answer),
                        key=order.unit_id.encode(),
                    )
                if len(latencies) >= ALARMS:
                    done.set()

        reader = asyncio.create_task(read_orders())

        async def send_alarm() -> uuid.UUID:
            lat, lon = _point(rng, 3500)
            t = datetime.now(UTC)
            alarm = AlarmAccepted(
                alarm_id=uuid.uuid4(),
                region=CITY.region,
                source="bench",
                source_alarm_id=uuid.uuid4().hex,
                reported_at=t - timedelta(seconds=5),
                received_at=t,
                location=GeoPoint(lat=lat, lon=lon),
                category=AlarmCategory.theft,
                priority=rng.randint(1, 4),
                tier=ResponseTier.central_city,
                target_seconds=180,
            )
            sent_at[alarm.alarm_id] = time.perf_counter()
            sent = time.time()
            await producer.send_and_wait(
                kafka.topic("alarms.accepted"), encode(alarm), key=alarm.region.encode()
            )
            stamps[alarm.alarm_id] = {"sent": sent, "acked": time.time()}
            return alarm.alarm_id

        # warm up: the service started, read the fleet and joined its groups when an alarm
        # comes back as a work order; then a few more before measuring
        async with asyncio.timeout(120):
            while True:
                alarm_id = await send_alarm()
                await asyncio.sleep(1.0)
                if alarm_id not in sent_at:
                    break
        for _ in range(20):
            await send_alarm()
            await asyncio.sleep(1 / ALARM_RATE)
        await asyncio.sleep(1.0)
        latencies.clear()
        sent_at.clear()
        stamps.clear()
        cpu_before, wall_before = cpu_seconds(dispatch.pid, children=True), time.monotonic()
        for _ in range(ALARMS):
            await send_alarm()
            await asyncio.sleep(1 / ALARM_RATE)
        async with asyncio.timeout(60):
            await done.wait()
        cpu_share = (cpu_seconds(dispatch.pid, children=True) - cpu_before) / (
            time.monotonic() - wall_before
        )
        print(f"dispatch service CPU while measured: {100 * cpu_share:.0f}% of one core")
        stop_pings.set()
        breakdown = await _service_breakdown(8039)
        breakdown |= await _stages(pg, stamps)
        reader.cancel()
        await consumer.stop()
        await producer.stop()
        p50 = float(np.percentile(latencies, 50))
        p99 = float(np.percentile(latencies, 99))
        print(
            f"alarm -> work order over {len(latencies)} alarms at {ALARM_RATE:.0f}/s with "
            f"{PING_RATE} pings/s in the background (batch window {window_ms} ms): "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
        )
        return {
            "dispatch.alarm_to_workorder_p50_ms": round(p50, 1),
            "dispatch.alarm_to_workorder_p99_ms": round(p99, 1),
            "dispatch.batch_window_ms": window_ms,
            "dispatch.background_pings_per_s": PING_RATE,
            "dispatch.service_cpu_percent": round(100 * cpu_share, 1),
        } | breakdown
    finally:
        if pinger is not None:
            pinger.join(timeout=30)
            if pinger.is_alive():
                pinger.terminate()
        if dispatch is not None:
            dispatch.terminate()
            try:
                async with asyncio.timeout(15):
                    await dispatch.wait()
            except TimeoutError:
                dispatch.kill()
                await dispatch.wait()
        await admin.execute(f'drop database if exists "{pg.database}" with (force)')
        await admin.close()
        await delete_topics(kafka, created)


async def _stages(
    pg: PostgresSettings, stamps: dict[uuid.UUID, dict[str, float]]
) -> dict[str, float]:
    """Where each alarm's time went, p50/p99 per stage, from wall-clock stamps: the bench's
    send and the broker's ack, dispatch's receipt (the recording transaction's start) and work
    order (issued_at, in the writing transaction), the relay's send (the record's timestamp)
    and the bench reading it back."""
    connection = await connect(pg)
    try:
        rows = await connection.fetch(
            """select a.alarm_id, extract(epoch from a.received_at) as received,
                      extract(epoch from w.issued_at) as issued
               from dispatch_alarms a join work_orders w using (alarm_id)
               where w.role = 'primary' and a.alarm_id = any($1)""",
            list(stamps),
        )
    finally:
        await connection.close()
    for row in rows:
        stamps[row["alarm_id"]] |= {
            "received": float(row["received"]),
            "issued": float(row["issued"]),
        }
    stages = [
        ("produce", "sent", "acked"),
        ("consume", "acked", "received"),
        ("plan_and_write", "received", "issued"),
        ("relay", "issued", "relayed"),
        ("deliver", "relayed", "read"),
    ]
    figures: dict[str, float] = {}
    for name, start, end in stages:
        spans = [1000 * (s[end] - s[start]) for s in stamps.values() if start in s and end in s]
        if spans:
            figures[f"dispatch.stage_{name}_p50_ms"] = round(float(np.percentile(spans, 50)), 1)
            figures[f"dispatch.stage_{name}_p99_ms"] = round(float(np.percentile(spans, 99)), 1)
    print("stages (p50/p99 ms):", figures)
    full = [s for s in stamps.values() if all(k in s for _, k, _ in stages) and "read" in s]
    for s in sorted(full, key=lambda s: s["read"] - s["sent"])[-5:]:
        print(
            "  slow:",
            {name: round(1000 * (s[end] - s[start]), 1) for name, start, end in stages},
        )
    return figures


async def _service_breakdown(port: int) -> dict[str, float]:
    """From the service's own metrics: mean time to decide a batch, mean consume batch (alarms
    and work-order events)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
    text = (await reader.read()).decode()
    writer.close()

    def total(name: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith("#")
        )

    def mean_ms(name: str) -> float:
        count = total(f"{name}_count")
        return round(1000 * total(f"{name}_sum") / count, 2) if count else 0.0

    figures = {
        "dispatch.plan_batch_mean_ms": mean_ms("kj_dispatch_plan_seconds"),
        "dispatch.consume_batch_mean_ms": mean_ms("kj_consume_batch_seconds"),
    }
    print("service breakdown:", figures)
    return figures


def main() -> None:
    figures = bench_candidate_search()
    figures |= uvloop.run(bench_alarm_to_work_order())
    # the same run without the positioning loop, side by side: what posting idle units costs
    # the alarms being assigned meanwhile (decision 0095)
    off = uvloop.run(bench_alarm_to_work_order(positioning=False))
    figures |= {
        "dispatch.alarm_to_workorder_p50_positioning_off_ms": off[
            "dispatch.alarm_to_workorder_p50_ms"
        ],
        "dispatch.alarm_to_workorder_p99_positioning_off_ms": off[
            "dispatch.alarm_to_workorder_p99_ms"
        ],
    }
    record(figures)
    print(figures)


if __name__ == "__main__":
    main()
