"""Helpers for tests that use the real servers."""

import asyncio
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from kj_runtime.db import wait_for_postgres
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings

SAMPLE_CITY = REPO_ROOT / "cities" / "shaoyang"


async def admin_connection(settings: PostgresSettings) -> asyncpg.Connection:
    await wait_for_postgres(settings.model_copy(update={"database": "postgres"}), deadline_s=30)
    return await asyncpg.connect(settings.model_copy(update={"database": "postgres"}).dsn())


async def _partitions(settings: KafkaSettings, topic: str) -> list[TopicPartition]:
    """From a metadata answer: a consumer without a group does not learn them by itself."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [
        TopicPartition(topic, p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    ]
    assert found, f"{topic} has no partitions: was it created?"
    return sorted(found)


async def read_to_end(settings: KafkaSettings, topic: str, deadline_s: float = 30) -> list[Any]:
    """Every record on `topic` (a full name) from the beginning to the end offsets it has now,
    partition by partition in order. Tests filter by key or content: other tests of the same
    package share the topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=None)
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(deadline_s):
            partitions = await _partitions(settings, topic)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records += batch
    finally:
        await consumer.stop()
    return records
