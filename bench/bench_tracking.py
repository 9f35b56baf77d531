"""Patrol tracking benchmark: 1,000,000 pings of 10,000 units (a generated bench city) on the
real broker, consumed by (a) a bare aiokafka getmany loop that only decodes them and (b) the
tracking service's hot path, its state role (validation, unit state, arrival and check-in
detection, changed states published on units.state and acknowledged before each commit),
side by side, median of 3: `tracking.pings_per_s`, `tracking.bare_pings_per_s`,
`tracking.ratio`. Then once each: the tracks role (COPY into PostgreSQL, a separate process in
production, docs/decisions/0020) and both roles in one process (`role=all`, a city's setup),
a faust-streaming agent for the decision record, and memory per tracked unit.

Every run reads the same pings from topics of its own (`bench-<id>-r<n>.`): the state role
restores each unit's last state from `units.state` before it consumes, and on a used prefix
it would find every ping older than its unit's restored fix and refuse them all as out of
order, a cheaper path than the one measured. The service runs as `kj_runtime.host.main` runs
it, its collector settled once it is built (`kj_runtime.heap.settle`); the bench settles its
own process before the first run, so the bare loop and the service work under the same
collector settings.

Run: `uv run python -m bench.bench_tracking` (Kafka and PostgreSQL up). Bench topics use the
prefix `bench-<id>-<run>.` and a throwaway database; both are removed at the end. For iterating:
`BENCH_QUICK=1` (200,000 pings, only the bare loop against the state role, nothing recorded);
`BENCH_UNITS` and `BENCH_PINGS_PER_UNIT` set the size."""

import asyncio
import gc
import math
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from aiokafka.partitioner import DefaultPartitioner

from bench.record import record
from kj_runtime import heap
from kj_runtime.consume import CONSUMED
from kj_runtime.db import connect
from kj_runtime.host import hosted
from kj_runtime.kafka import (
    create_topics,
    delete_topics,
    make_consumer,
    make_producer,
    wait_for_kafka,
)
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings
from kj_schemas.city import Checkpoint, City, Platform, Unit
from kj_schemas.enums import UnitKind
from kj_schemas.topics import (
    DEADLETTERS,
    DISPATCH_WORKORDERS,
    PATROL_PINGS,
    UNITS_STATE,
    WORKORDERS_EVENTS,
)
from kj_tracking.adapters.ping_codec import decode_wire, encode_fix
from kj_tracking.adapters.tracks import TRACK_DROPPED, TRACK_ROWS, ensure_partitions
from kj_tracking.bootstrap import build
from kj_tracking.domain.units import Fix, registry
from kj_tracking.settings import TrackingSettings

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
UNITS = int(os.environ.get("BENCH_UNITS", 10_000))
PINGS_PER_UNIT = int(os.environ.get("BENCH_PINGS_PER_UNIT", 20 if QUICK else 100))
TOTAL = UNITS * PINGS_PER_UNIT
RUNS = 3
FAUST_LIMIT = int(os.environ.get("BENCH_FAUST_LIMIT", 100_000))
CENTRE = (27.24, 111.47)


def bench_city() -> City:
    """100 platforms of 100 units each around Shaoyang, two checkpoints per platform."""
    platforms: list[Platform] = []
    units: list[Unit] = []
    checkpoints: list[Checkpoint] = []
    per_platform = max(UNITS // 100, 1)
    rng = random.Random(7)  # noqa: S311 (test data)
    for p in range(math.ceil(UNITS / per_platform)):
        pid = f"BN-P{p + 1:03d}"
        lat, lon = CENTRE[0] + rng.uniform(-0.3, 0.3), CENTRE[1] + rng.uniform(-0.3, 0.3)
        platforms.append(Platform(id=pid, name=pid, lat=lat, lon=lon, district="bench"))
        for k in range(2):
            checkpoints.append(
                Checkpoint(
                    id=f"{pid}-K{k + 1}",
                    name=f"{pid} K{k + 1}",
                    platform=pid,
                    lat=lat + 0.01 * (k + 1),
                    lon=lon,
                    radius_m=40,
                )
            )
        for u in range(per_platform):
            if len(units) < UNITS:
                units.append(
                    Unit(id=f"{pid}-U{u:03d}", platform=pid, kind=UnitKind.car, callsign=pid)
                )
    return City(
        name="bench",
        region="bench",
        timezone="Asia/Shanghai",
        targets={"key_location": 60, "central_city": 180, "other_city": 300, "county": 900},
        platforms=platforms,
        units=units,
        zones=[],
        checkpoints=checkpoints,
    )


def pings(city: City, t0: float) -> list[list[tuple[bytes, bytes]]]:
    """Per partition, (key, value) in fix-time order: each unit drives a straight line at its
    own speed (0-60 km/h), one fix a second."""
    rng = random.Random(11)  # noqa: S311 (test data)
    by_partition: list[list[tuple[bytes, bytes]]] = [[] for _ in range(PATROL_PINGS.partitions)]
    # the partition a terminal's client would pick (Kafka's default: murmur2 of the unit id)
    partitioner, partitions = DefaultPartitioner(), list(range(PATROL_PINGS.partitions))
    for unit in city.units:
        base = city.platform_by_id[unit.platform]
        lat, lon = base.lat + rng.uniform(-0.02, 0.02), base.lon + rng.uniform(-0.02, 0.02)
        speed = rng.uniform(0, 60)
        heading = rng.uniform(0, 360)
        step_m = speed / 3.6
        dlat = step_m * math.cos(math.radians(heading)) / 111_000
        dlon = step_m * math.sin(math.radians(heading)) / (111_000 * math.cos(math.radians(lat)))
        key = unit.id.encode()
        target = by_partition[partitioner(key, partitions, partitions)]
        for i in range(PINGS_PER_UNIT):
            fix = Fix(unit.id, t0 + i, lat + dlat * i, lon + dlon * i, speed, heading, 8.0)
            target.append((key, encode_fix(fix)))
    return by_partition


async def produce(kafka: KafkaSettings, by_partition: list[list[tuple[bytes, bytes]]]) -> float:
    producer = make_producer(kafka, acks=1, enable_idempotence=False, linger_ms=20)
    await producer.start()
    topic = kafka.topic(PATROL_PINGS.name)
    started = time.perf_counter()
    try:
        pending = []
        for partition, items in enumerate(by_partition):
            batch = producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    pending.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            pending.append(await producer.send_batch(batch, topic, partition=partition))
            if len(pending) > 200:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


class Rate(NamedTuple):
    """Pings per second of wall time, and this process's CPU time per ping (µs): on a shared
    machine the wall-clock rate swings with the neighbours' load, CPU per ping much less."""

    per_s: float
    cpu_us: float


async def bare_rate(kafka: KafkaSettings) -> Rate:
    """A getmany loop that only decodes: the ceiling for any consumer in this process. Same
    consumer options and batch size as the service's."""
    batch_size = TrackingSettings(kafka=kafka).max_batch
    consumer = make_consumer(
        kafka,
        PATROL_PINGS.name,
        group_id=f"bench-bare-{uuid.uuid4().hex[:6]}",
        max_poll_records=batch_size,
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    seen, first, at_first = 0, 0.0, 0
    try:
        while seen < TOTAL:
            batches = await consumer.getmany(timeout_ms=200, max_records=batch_size)
            for batch in batches.values():
                for rec in batch:
                    decode_wire(rec.value)
                seen += len(batch)
            if batches and not first:  # timed like the service: after the first batch
                first, at_first, cpu = time.perf_counter(), seen, time.process_time()
        elapsed = time.perf_counter() - first
        cpu = time.process_time() - cpu
        await consumer.commit()
    finally:
        await consumer.stop()
    return Rate((seen - at_first) / elapsed, cpu / (seen - at_first) * 1e6)


async def service_rate(
    kafka: KafkaSettings, postgres: PostgresSettings, city: City, role: str = "state"
) -> Rate:
    """The service's own consume loop in one role, built by its bootstrap with a fresh unit
    registry; timed from its first committed batch until every ping is handled (and, when it
    writes tracks, every row is COPYed or counted as dropped)."""
    settings = TrackingSettings(
        kafka=kafka,
        postgres=postgres,
        group_id=f"bench-svc-{uuid.uuid4().hex[:6]}",
        role=role,
        silence_s=3600,
        sweep_interval_s=1.0,
        track_queue_rows=2_000_000,
    )
    service = await build(settings, city=city)
    heap.settle()  # as kj_runtime.host.main does before it serves
    group = f"{settings.group_id}-tracks" if role == "tracks" else settings.group_id
    consumed = CONSUMED.labels(group, kafka.topic(PATROL_PINGS.name))
    async with hosted(service, http=False), asyncio.timeout(240):
        while consumed._value.get() == 0:  # noqa: ASYNC110 (polls a counter)
            await asyncio.sleep(0.01)
        first, at_first = time.perf_counter(), consumed._value.get()
        cpu = time.process_time()
        while consumed._value.get() < TOTAL:  # noqa: ASYNC110 (polls a counter)
            await asyncio.sleep(0.01)
        if service.core.tracks is not None:
            await service.core.tracks.drain(timeout_s=120)
        elapsed = time.perf_counter() - first
        cpu = time.process_time() - cpu
    return Rate((TOTAL - at_first) / elapsed, cpu / (TOTAL - at_first) * 1e6)


async def faust_rate(kafka: KafkaSettings) -> float:
    app_id = f"bench-faust-{uuid.uuid4().hex[:6]}"
    try:
        return await _faust_rate(kafka, app_id)
    finally:  # faust's assignor topic: strays slow the broker for every later benchmark
        await delete_topics(kafka, [f"{app_id}-__assignor-__leader"])


async def _faust_rate(kafka: KafkaSettings, app_id: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result"
        log = (Path(folder) / "faust.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.faust_tracking_agent",
            "worker",
            "-l",
            "warn",
            env={
                **os.environ,
                "BROKER": kafka.bootstrap,
                "TOPIC": kafka.topic(PATROL_PINGS.name),
                "PARTITIONS": str(PATROL_PINGS.partitions),
                "APP_ID": app_id,
                "LIMIT": str(FAUST_LIMIT),
                "RESULT": str(result),
                "PYTHONPATH": str(REPO_ROOT),
            },
            cwd=folder,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await asyncio.wait_for(process.wait(), timeout=120)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()
        if not result.exists():
            tail = (Path(folder) / "faust.log").read_text(errors="replace")[-1500:]
            print(f"faust agent gave no figure; its log ends with:\n{tail}")
            return 0.0
        count, elapsed = result.read_text().split()
        return int(count) / float(elapsed)


def bytes_per_unit(city: City) -> float:
    """Memory of the unit registry with every unit holding a fix, per unit: its `UnitTrack`,
    the dict entry, the fix's values and its own id string (copied so that it counts; platform
    and kind strings are shared between units, as in the service)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    units = registry([(u.id.encode().decode(), u.platform, u.kind.value) for u in city.units])
    for n, unit in enumerate(units.values()):
        unit.move_to(
            Fix(unit.unit_id, 1.8e9 + n, 27.0 + n * 1e-6, 111.0, 30.0 + n % 7, 90.0), 1.8e9 + n
        )
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del units
    return total / len(city.units)


async def fresh_database(settings: PostgresSettings) -> None:
    import asyncpg

    admin = await asyncpg.connect(settings.model_copy(update={"database": "postgres"}).dsn())
    try:
        await admin.execute(f'create database "{settings.database}"')
    finally:
        await admin.close()
    apply_migrations(settings)


async def drop_database(settings: PostgresSettings) -> None:
    import asyncpg

    admin = await asyncpg.connect(settings.model_copy(update={"database": "postgres"}).dsn())
    try:
        await admin.execute(f'drop database if exists "{settings.database}" with (force)')
    finally:
        await admin.close()


async def main() -> None:
    run_id = uuid.uuid4().hex[:6]
    postgres = PostgresSettings(database=f"kj_bench_tracking_{run_id}")
    await wait_for_kafka(KafkaSettings(), deadline_s=60)
    specs = (PATROL_PINGS, UNITS_STATE, DISPATCH_WORKORDERS, WORKORDERS_EVENTS, DEADLETTERS)
    used: list[tuple[KafkaSettings, list[str]]] = []  # every run's topics, removed at the end
    await fresh_database(postgres)
    connection = await connect(postgres)
    try:
        await ensure_partitions(connection, datetime.now(UTC).date())
    finally:
        await connection.close()
    try:
        city = bench_city()
        data = pings(city, time.time() - PINGS_PER_UNIT - 5)

        async def topics_of_its_own(label: str) -> KafkaSettings:
            """The pings on a prefix of their own, for one run (see the module's docstring)."""
            kafka = KafkaSettings(topic_prefix=f"bench-{run_id}-{label}.")
            created, _ = await create_topics(kafka, specs)
            used.append((kafka, created))
            produce_s = await produce(kafka, data)
            print(f"{label}: produced {TOTAL:,} pings of {UNITS:,} units in {produce_s:.1f}s")
            return kafka

        heap.settle()  # the bare loop under the collector settings the service gets
        bare_runs: list[Rate] = []
        service_runs: list[Rate] = []
        for run in range(RUNS):
            kafka = await topics_of_its_own(f"r{run + 1}")
            bare_runs.append(await bare_rate(kafka))
            service_runs.append(await service_rate(kafka, postgres, city))
            b, sv = bare_runs[-1], service_runs[-1]
            print(
                f"run {run + 1}: bare {b.per_s:,.0f}/s ({b.cpu_us:.2f} µs CPU a ping), "
                f"service {sv.per_s:,.0f}/s ({sv.cpu_us:.2f} µs)",
                flush=True,
            )
        bare = [r.per_s for r in bare_runs]
        service = [r.per_s for r in service_runs]
        # each run's service rate over the bare rate measured just before it, median of 3
        ratio = statistics.median([s / b for s, b in zip(service, bare, strict=True)])
        cpu_ratio = statistics.median(
            [b.cpu_us / s.cpu_us for s, b in zip(service_runs, bare_runs, strict=True)]
        )
        if QUICK:
            print(f"quick: median service/bare ratio {ratio:.3f}, by CPU a ping {cpu_ratio:.3f}")
            return
        # the tracks role restores no unit state: it reads the last run's pings again
        tracks_role = (await service_rate(kafka, postgres, city, "tracks")).per_s
        all_in_one = (
            await service_rate(await topics_of_its_own("all"), postgres, city, "all")
        ).per_s
        print(f"tracks role {tracks_role:,.0f}/s, all roles in one process {all_in_one:,.0f}/s")
        faust = await faust_rate(kafka)
        print(f"faust agent (decode only, {FAUST_LIMIT:,} pings): {faust:,.0f}/s", flush=True)
        per_unit = bytes_per_unit(city)
        figures: dict[str, float | int | str] = {
            "tracking.pings_per_s": round(statistics.median(service)),
            "tracking.bare_pings_per_s": round(statistics.median(bare)),
            "tracking.ratio": round(ratio, 3),
            # the same ratio by CPU time per ping: steadier than wall time on a shared machine
            "tracking.cpu_ratio": round(cpu_ratio, 3),
            "tracking.bare_cpu_us_per_ping": round(
                statistics.median(r.cpu_us for r in bare_runs), 2
            ),
            "tracking.cpu_us_per_ping": round(statistics.median(r.cpu_us for r in service_runs), 2),
            "tracking.ratio_of_medians": round(
                statistics.median(service) / statistics.median(bare), 3
            ),
            "tracking.bytes_per_unit": round(per_unit),
            "tracking.faust_pings_per_s": round(faust),
            "tracking.tracks_role_pings_per_s": round(tracks_role),
            "tracking.all_in_one_pings_per_s": round(all_in_one),
            "tracking.all_in_one_ratio": round(all_in_one / statistics.median(bare), 3),
            "tracking.units": UNITS,
            "tracking.pings": TOTAL,
            "tracking.track_rows_written": int(TRACK_ROWS._value.get()),
            "tracking.track_rows_dropped": int(TRACK_DROPPED._value.get()),
        }
        record(figures)
        for name, value in figures.items():
            print(f"{name} = {value}")
    finally:
        for kafka, created in used:
            await delete_topics(kafka, created)
        await drop_database(postgres)


if __name__ == "__main__":
    asyncio.run(main())
