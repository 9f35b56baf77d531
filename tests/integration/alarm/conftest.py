"""The alarm service built by its own bootstrap against this session's database and topics,
served in-process through httpx's ASGI transport, with its relay and consumers running."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from kj_alarm.bootstrap import Alarm, build
from kj_alarm.settings import DEV_TOKEN, AlarmSettings
from kj_runtime.host import Service, hosted
from kj_runtime.kafka import make_consumer
from kj_runtime.settings import KafkaSettings, PostgresSettings
from tests.isolation import package_database, package_topics

database = package_database()  # this package's own database and topics (tests/isolation.py)
topics = package_topics()

AUTH = {"Authorization": f"Bearer {DEV_TOKEN}"}
_ids = itertools.count(1)


def settings_for(database: PostgresSettings, topics: KafkaSettings, **extra: Any) -> AlarmSettings:
    return AlarmSettings(kafka=topics, postgres=database, **extra)


@pytest.fixture(scope="package")
async def alarm_service(
    database: PostgresSettings, topics: KafkaSettings
) -> AsyncIterator[Service[Alarm]]:
    """The service as its command line runs it, but for the HTTP server: requests go to its
    app through httpx's ASGI transport."""
    service = await build(settings_for(database, topics))
    async with hosted(service, http=False):
        yield service


@pytest.fixture
async def client(alarm_service: Service[Alarm]) -> AsyncIterator[httpx.AsyncClient]:
    assert alarm_service.app is not None
    transport = httpx.ASGITransport(app=alarm_service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://alarm") as client:
        yield client


BEIJING = timezone(timedelta(hours=8))


def recent(*, days: float = 0, hours: float = 0, minutes: float = 0) -> str:
    """A report time that long before now, on the hour, in Beijing time: a report's time must be
    within a year before and a day after its receipt."""
    at = datetime.now(BEIJING).replace(minute=0, second=0, microsecond=0)
    return (at - timedelta(days=days, hours=hours, minutes=minutes)).isoformat()


def report(**overrides: Any) -> dict[str, Any]:
    """A valid report with a fresh id, at a place and time no other test uses (the last 252
    days; the load tests take earlier ones)."""
    n = next(_ids)
    body: dict[str, Any] = {
        "source": "sy110",
        "source_alarm_id": f"T-{uuid.uuid4().hex[:12]}",
        "reported_at": recent(days=(n % 9) * 28 + n % 28, hours=n % 24),
        "caller_phone": "13807391234",
        "location": {"lat": 27.0 + (n % 50) * 0.01, "lon": 111.0 + (n // 50) * 0.01},
        "category": "theft",
        "priority": 2,
    }
    body.update(overrides)
    return body


async def read_topic(
    topics: KafkaSettings, topic: str, *, until: Any, deadline_s: float = 30
) -> list[Any]:
    """Records of `topic` from the beginning until `until(records)` holds (or the deadline)."""
    consumer: AIOKafkaConsumer = make_consumer(topics, topic, group_id=None)
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(deadline_s):
            while not until(records):
                batches = await consumer.getmany(timeout_ms=200)
                records += [r for batch in batches.values() for r in batch]
    finally:
        await consumer.stop()
    return records
