"""A priority-1 call under a backlog (`uv run python -m bench.bench_dispatch_backlog`, against the
stack `make up` started): how long a new priority-1 alarm waits for its unit while ~1,500 calls
are queued for want of units (a storm, a festival), through the real broker and database.

Every unit is off duty; 1,500 priority-3 alarms are posted and queued. Then, five times: a
priority-1 alarm is posted and one unit beside it comes on duty; the time from the alarm's post
to its work order on `dispatch.workorders` is measured. The same is measured first with an
empty queue, and side by side with a dispatcher that plans every waiting call in every pass
(`max_calls_per_pass` unbounded, as dispatch did before issue 14), in the same run.

Uses its own database and topic prefix, removed at the end."""

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.record import record
from kj_runtime.city_store import store_city
from kj_runtime.db import connect
from kj_runtime.kafka import create_topics, delete_topics, wait_for_kafka
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import GeoPoint
from kj_schemas.city import load_city
from kj_schemas.codec import decode, encode
from kj_schemas.enums import AlarmCategory, ResponseTier, UnitKind, UnitStatus, WorkOrderAction
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import WorkOrder

CITY = load_city(REPO_ROOT / "cities" / "shaoyang")
BACKLOG = 1500
TRIES = 5
LAT0, LON0 = 27.2412, 111.4688


def _state(unit_id: str, at: tuple[float, float], status: UnitStatus) -> UnitState:
    unit = CITY.unit_by_id[unit_id]
    now = datetime.now(UTC)
    return UnitState(
        unit_id=unit_id,
        platform_id=unit.platform,
        kind=unit.kind,
        status=status,
        lat=at[0],
        lon=at[1],
        fix_at=now,
        last_seen_at=now,
    )


def _alarm(at: tuple[float, float], priority: int) -> AlarmAccepted:
    now = datetime.now(UTC)
    return AlarmAccepted(
        alarm_id=uuid.uuid4(),
        region=CITY.region,
        source="bench",
        source_alarm_id=uuid.uuid4().hex,
        reported_at=now - timedelta(seconds=2),
        received_at=now,
        location=GeoPoint(lat=at[0], lon=at[1]),
        category=AlarmCategory.violent_crime if priority == 1 else AlarmCategory.theft,
        priority=priority,
        tier=ResponseTier.central_city,
        target_seconds=180,
    )


def _place(n: int) -> tuple[float, float]:
    """Distinct places on a grid around the city centre, 150 m apart."""
    return (LAT0 + (n // 40 - 20) * 150 / 110_574, LON0 + (n % 40 - 20) * 150 / 98_900)


async def _measure(kafka: KafkaSettings, pg: PostgresSettings, per_pass: int) -> dict[str, float]:
    """One dispatcher with `per_pass` calls a pass: P1 latencies without, then with, a backlog."""
    instance = f"bench-{per_pass}-{uuid.uuid4().hex[:4]}"
    env = os.environ | {
        "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "KJ_PG_DATABASE": pg.database,
        "KJ_DISPATCH_HTTP_PORT": "8038",
        "KJ_DISPATCH_LOG_LEVEL": "warning",
        "KJ_DISPATCH_GROUP_ID": f"bench-{uuid.uuid4().hex[:6]}",
        "KJ_DISPATCH_MAX_CALLS_PER_PASS": str(per_pass),
        "KJ_DISPATCH_ACCEPT_TIMEOUT_S": "600",
        "KJ_DISPATCH_INSTANCE": instance,
    }
    db = await connect(pg)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(
        kafka.topic("dispatch.workorders"),
        bootstrap_servers=kafka.bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="latest",
        fetch_max_wait_ms=5,
    )
    await producer.start()
    await consumer.start()
    units = [u.id for u in CITY.units if u.kind is UnitKind.car]
    for unit_id in CITY.unit_by_id:  # everybody off duty
        await producer.send(
            kafka.topic("units.state"),
            encode(_state(unit_id, _place(0), UnitStatus.off_duty)),
            key=unit_id.encode(),
        )
    await producer.flush()
    await db.execute("update dispatch_alarms set state = 'done'")
    await db.execute(
        "update work_orders set status = 'closed' where status in "
        "('assigned', 'accepted', 'en_route', 'on_scene')"
    )
    dispatch = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kj_dispatch.main", env=env, stdout=subprocess.DEVNULL
    )
    waits: dict[uuid.UUID, float] = {}
    got: dict[uuid.UUID, float] = {}

    async def read() -> None:
        async for rec in consumer:
            order = decode(WorkOrder, rec.value)
            if order.action is WorkOrderAction.assign and order.alarm_id in waits:
                got[order.alarm_id] = (time.perf_counter() - waits[order.alarm_id]) * 1000

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(60):
            while (  # noqa: ASYNC110 (polls the database)
                await db.fetchval("select count(*) from dispatch_leases where owner = $1", instance)
                == 0
            ):
                await asyncio.sleep(0.2)
        free = iter(units)

        async def one_p1(n: int) -> float:
            call = _alarm(_place(n), priority=1)
            waits[call.alarm_id] = time.perf_counter()
            await producer.send_and_wait(
                kafka.topic("alarms.accepted"), encode(call), key=call.region.encode()
            )
            unit_id = next(free)
            await producer.send_and_wait(
                kafka.topic("units.state"),
                encode(_state(unit_id, _place(n), UnitStatus.available)),
                key=unit_id.encode(),
            )
            async with asyncio.timeout(60):
                while call.alarm_id not in got:  # noqa: ASYNC110 (the reader fills it)
                    await asyncio.sleep(0.005)
            return got[call.alarm_id]

        empty = [await one_p1(1000 + n) for n in range(TRIES)]
        for n in range(BACKLOG):
            call = _alarm(_place(n % 800), priority=3)
            await producer.send(
                kafka.topic("alarms.accepted"), encode(call), key=call.region.encode()
            )
        await producer.flush()
        async with asyncio.timeout(180):
            while (  # noqa: ASYNC110 (polls the database)
                await db.fetchval(
                    "select count(*) from dispatch_alarms where state = 'queued' and priority = 3"
                )
                < BACKLOG
            ):
                await asyncio.sleep(0.5)
        backlog = [await one_p1(1100 + n) for n in range(TRIES)]
    finally:
        reader.cancel()
        dispatch.terminate()
        await dispatch.wait()
        await consumer.stop()
        await producer.stop()
        await db.close()
    print(
        f"max {per_pass} calls a pass: P1 -> work order, empty queue ms {[round(x) for x in empty]}"
        f", {BACKLOG} queued ms {[round(x) for x in backlog]}"
    )
    return {
        "empty": statistics.median(empty),
        "backlog": statistics.median(backlog),
        "backlog_max": max(backlog),
    }


async def bench() -> dict[str, float]:
    run_id = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench-{run_id}.")
    pg = PostgresSettings(database=f"kj_bench_{run_id}")
    admin = await connect(pg.model_copy(update={"database": "postgres"}))
    await admin.execute(f'create database "{pg.database}"')
    await wait_for_kafka(kafka)
    created, _ = await create_topics(kafka)
    try:
        apply_migrations(pg)
        await store_city(pg, REPO_ROOT / "cities" / "shaoyang")
        bounded = await _measure(kafka, pg, per_pass=128)
        unbounded = await _measure(kafka, pg, per_pass=10_000)
    finally:
        await admin.execute(f'drop database if exists "{pg.database}" with (force)')
        await admin.close()
        await delete_topics(kafka, created)
    return {
        "dispatch.p1_under_backlog_ms": round(bounded["backlog"], 1),
        "dispatch.p1_under_backlog_max_ms": round(bounded["backlog_max"], 1),
        "dispatch.p1_empty_queue_ms": round(bounded["empty"], 1),
        "dispatch.p1_under_backlog_unbounded_pass_ms": round(unbounded["backlog"], 1),
        "dispatch.backlog_queued": BACKLOG,
    }


def main() -> None:
    figures = uvloop.run(bench())
    record(figures)
    print(figures)


if __name__ == "__main__":
    main()
