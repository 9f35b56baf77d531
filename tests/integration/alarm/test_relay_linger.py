"""Alarm's outbox relay waits for company only when there is some: a call that comes alone
leaves at once, and after a pass that carried several the next one lingers (decision 0167)."""

import asyncio
import uuid

import asyncpg
import pytest

from kj_alarm.adapters.relay import LingeringRelay
from kj_runtime.db import create_pool
from kj_runtime.kafka import make_producer
from kj_runtime.outbox import Outbox
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.alarms import AlarmStatusChanged
from kj_schemas.examples import EXAMPLES
from kj_schemas.topics import ALARMS_STATUS

LINGER_S = (
    30.0  # far longer than any wait below: a pass that lingered cannot pass for one that did not
)


def status() -> AlarmStatusChanged:
    example = next(e for e in EXAMPLES if e.model is AlarmStatusChanged)
    return AlarmStatusChanged.model_validate({**example.valid, "alarm_id": str(uuid.uuid4())})


async def put(pool: asyncpg.Pool, outbox: Outbox, count: int) -> None:
    async with pool.acquire() as connection, connection.transaction():
        for _ in range(count):
            message = status()
            await outbox.put(connection, ALARMS_STATUS.name, str(message.alarm_id), message)


async def test_a_lone_call_goes_at_once_and_a_busy_relay_waits_for_company(
    database: PostgresSettings, topics: KafkaSettings
) -> None:
    pool = await create_pool(database, min_size=1, max_size=2)
    outbox = Outbox(f"linger-{uuid.uuid4().hex[:8]}", topics)
    relay = LingeringRelay(
        pool, lambda: make_producer(topics, linger_ms=0), outbox, linger_s=LINGER_S
    )
    try:
        await put(pool, outbox, 1)
        async with asyncio.timeout(10):
            assert await relay.relay_once() == 1  # alone: no linger
        await put(pool, outbox, 3)
        async with asyncio.timeout(10):
            assert await relay.relay_once() == 3  # the last pass was alone: no linger either
        await put(pool, outbox, 1)
        with pytest.raises(TimeoutError):  # a pass after company waits for more
            async with asyncio.timeout(2):
                await relay.relay_once()
        assert await pool.fetchval("select count(*) from outbox where stream = $1", outbox.stream)
    finally:
        await relay._stop_producer()
        await pool.execute("delete from outbox where stream = $1", outbox.stream)
        await pool.close()
