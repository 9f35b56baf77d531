"""Two gateway replicas: the terminals' sockets are on one, the work orders are consumed by the
other; every terminal still gets exactly its own work orders at once, through PostgreSQL
NOTIFY (decision 0040)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from kj_notify.bootstrap import run
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.topics import DISPATCH_WORKORDERS

from .conftest import RunningNotify, notify_settings, publish, unit, wait_ready, work_order
from .terminal_client import Terminal


@pytest.fixture(scope="module")
async def replicas(
    topics: KafkaSettings, database: PostgresSettings
) -> AsyncIterator[tuple[RunningNotify, RunningNotify]]:
    consuming = notify_settings(topics, database)
    gateway_only = notify_settings(topics, database, consume=False)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run(s, stop)) for s in (consuming, gateway_only)]
    running = (RunningNotify(consuming), RunningNotify(gateway_only))
    for replica in running:
        await wait_ready(replica.http)
    yield running
    stop.set()
    async with asyncio.timeout(30):
        await asyncio.gather(*tasks)


async def test_a_replica_without_the_consumer_still_pushes_each_unit_its_own_orders(
    replicas: tuple[RunningNotify, RunningNotify],
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
) -> None:
    _, gateway_only = replicas
    terminals = [await Terminal(gateway_only.ws, unit("REP")).connect() for _ in range(10)]
    try:
        expected: dict[str, set[str]] = {t.unit_id: set() for t in terminals}
        for i in range(30):
            order = work_order(terminals[i % len(terminals)].unit_id)
            expected[order.unit_id].add(str(order.work_order_id))
            await publish(producer, topics, DISPATCH_WORKORDERS.name, order.unit_id, order)
        for terminal in terminals:
            await terminal.wait_for(lambda t=terminal: t.assigned() >= expected[t.unit_id])
        for terminal in terminals:
            assert terminal.assigned() == expected[terminal.unit_id]
    finally:
        await asyncio.gather(*(t.close() for t in terminals))
