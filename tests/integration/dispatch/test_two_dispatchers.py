"""Two dispatch processes at once over 500 alarms in bursts, with simulated terminals that
accept and close every work order at once. Each process consumes every alarm (separate groups:
the worst case, as if a rebalance went wrong), so they race for alarms and for units; the
message-id record and the partial unique indexes must hold the invariant."""

import asyncio
import os
import random
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import decode
from kj_schemas.enums import AlarmCategory, WorkOrderAction, WorkOrderEventKind
from kj_schemas.workorders import WorkOrder

from .helpers import CITY, Peers, alarm, east, event, unit_state

ALARMS = 500
BURST = 50
CATEGORIES = [AlarmCategory.theft, AlarmCategory.fight, AlarmCategory.violent_crime]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
    body = await reader.read()
    writer.close()
    return body.decode()


def _sum(metrics: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


async def _ready(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.write(b"GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n")
    status = await reader.readline()
    writer.close()
    return b" 200 " in status


@pytest.fixture
def two_dispatchers(
    topics: KafkaSettings, database: PostgresSettings, quiet_city: None
) -> Iterator[list[int]]:
    ports = [_free_port(), _free_port()]
    processes = []
    for name, port in zip("ab", ports, strict=True):
        env = os.environ | {
            "KJ_KAFKA_TOPIC_PREFIX": topics.topic_prefix,
            "KJ_PG_DATABASE": database.database,
            "KJ_DISPATCH_HTTP_PORT": str(port),
            "KJ_DISPATCH_GROUP_ID": f"dispatch-{name}-{uuid4().hex[:6]}",
            "KJ_DISPATCH_LOG_LEVEL": "warning",
            "KJ_DISPATCH_ACCEPT_TIMEOUT_S": "600",
            "KJ_DISPATCH_QUEUE_RETRY_S": "0.3",
            "KJ_DISPATCH_INDEX_REBUILD_INTERVAL_S": "0",
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "kj_dispatch.main"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    yield ports
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.returncode in (0, -15), (
            process.stderr.read().decode()[-2000:] if process.stderr else ""
        )


@pytest.fixture
async def terminals(topics: KafkaSettings, peers: Peers) -> AsyncIterator[None]:
    """Every unit accepts and closes each work order it is given, at once."""
    consumer = AIOKafkaConsumer(
        topics.topic("dispatch.workorders"),
        bootstrap_servers=topics.bootstrap,
        group_id=f"terminals-{uuid4().hex[:6]}",
        auto_offset_reset="latest",
    )
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():
        await consumer.seek_to_end(tp)
        await consumer.position(tp)

    async def answer() -> None:
        async for record in consumer:
            order = decode(WorkOrder, record.value)
            if order.action is WorkOrderAction.assign:
                await peers.event(event(order, WorkOrderEventKind.accepted))
                await peers.event(
                    event(order, WorkOrderEventKind.closed, disposition_code="resolved")
                )

    task = asyncio.create_task(answer())
    yield
    task.cancel()
    await consumer.stop()


@pytest.mark.slow
async def test_two_dispatchers_never_give_a_unit_or_an_alarm_two_work_orders(
    two_dispatchers: list[int], terminals: None, peers: Peers, db: asyncpg.Connection
) -> None:
    rng = random.Random(5)
    await peers.units(
        *(
            unit_state(u.id, east(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)))
            for u in CITY.units
        )
    )
    async with asyncio.timeout(60):
        while not all([await _ready(port) for port in two_dispatchers]):
            await asyncio.sleep(0.2)
    alarms = [
        alarm(
            east(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)),
            priority=rng.randint(1, 4),
            category=rng.choice(CATEGORIES),
        )
        for _ in range(ALARMS)
    ]
    for start in range(0, ALARMS, BURST):
        for a in alarms[start : start + BURST]:
            await peers.alarm(a)
        await asyncio.sleep(0.2)
    ids = [a.alarm_id for a in alarms]
    async with asyncio.timeout(180):
        while (
            served := await db.fetchval(
                "select count(distinct alarm_id) from work_orders where alarm_id = any($1) "
                "and role = 'primary' and status = 'closed'",
                ids,
            )
        ) < ALARMS:
            await asyncio.sleep(0.5)
    assert served == ALARMS
    doubled_units = await db.fetchval(
        """select count(*) from (
             select unit_id from work_orders
             where status in ('assigned', 'accepted', 'en_route', 'on_scene')
             group by unit_id having count(*) > 1) d"""
    )
    overlapping = await db.fetch(
        """select a.unit_id, a.role as a_role, a.status as a_status, a.issued_at as a_issued,
                  coalesce(a.closed_at, a.withdrawn_at) as a_end, a.withdraw_reason as a_why,
                  b.role as b_role, b.status as b_status, b.issued_at as b_issued,
                  coalesce(b.closed_at, b.withdrawn_at) as b_end, b.withdraw_reason as b_why,
                  a.alarm_id = b.alarm_id as same_alarm
           from work_orders a join work_orders b
             on a.unit_id = b.unit_id and a.work_order_id < b.work_order_id
           where a.alarm_id = any($1) and b.alarm_id = any($1)
             and tstzrange(a.issued_at, coalesce(a.closed_at, a.withdrawn_at, 'infinity'))
              && tstzrange(b.issued_at, coalesce(b.closed_at, b.withdrawn_at, 'infinity'))""",
        ids,
    )
    doubled_alarms = await db.fetchval(
        """select count(*) from (
             select alarm_id from work_orders
             where alarm_id = any($1) and role = 'primary'
               and status not in ('withdrawn', 'rejected')
             group by alarm_id having count(*) > 1) d""",
        ids,
    )
    assert (doubled_units, doubled_alarms) == (0, 0)
    assert overlapping == [], [dict(r) for r in overlapping]
    # both processes did real work, and raced for units at least sometimes
    scraped = [await _get(port, "/metrics") for port in two_dispatchers]
    assert all(_sum(m, "kj_dispatch_assignments_total") > 0 for m in scraped)
    print(
        "work orders per process:",
        [_sum(m, "kj_dispatch_assignments_total") for m in scraped],
        "unit conflicts:",
        [_sum(m, "kj_dispatch_unit_conflicts_total") for m in scraped],
    )
