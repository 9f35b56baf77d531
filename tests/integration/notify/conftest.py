"""The notify service running for real (uvicorn on a free loopback port, the session's Kafka
topics and database), and helpers to publish and read the topics it meets."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from kj_alarm.bootstrap import build as build_alarm
from kj_alarm.settings import AlarmSettings
from kj_notify.bootstrap import run
from kj_notify.domain.tokens import token_hash
from kj_notify.settings import NotifySettings
from kj_runtime.host import hosted
from kj_runtime.kafka import make_consumer, make_producer
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import decode, encode
from kj_schemas.enums import AlarmCategory, ResponseTier, WorkOrderAction
from kj_schemas.workorders import WorkOrder
from kj_sim.services import free_port
from tests.isolation import package_database, package_topics

from .terminal_client import DEV_SECRET

database = package_database()  # this package's own database and topics (tests/isolation.py)
topics = package_topics()

INTEGRATION_TOKEN = "sy110-api-token-for-tests"


def notify_settings(kafka: KafkaSettings, pg: PostgresSettings, **overrides: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "kafka": kafka,
        "postgres": pg,
        "http_port": free_port(),
        "dev_token_secret": DEV_SECRET,
        "integration_token_sha256": {
            source: token_hash(INTEGRATION_TOKEN)
            for source in ("sy110", "good110", "dead110", "flaky110")
        },
        "consumer_group": f"notify-test-{uuid.uuid4().hex[:6]}",
        "callback_timeout_s": 0.5,
        "callback_retry_window_s": 6.0,
        "callback_wait_initial_s": 0.05,
        "callback_wait_max_s": 0.5,
        "overdue_check_s": 0.5,
    }
    values.update(overrides)
    return NotifySettings(**values)


@dataclass
class RunningNotify:
    settings: NotifySettings

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.settings.http_port}"


async def wait_ready(base: str, deadline_s: float = 30) -> None:
    async with asyncio.timeout(deadline_s), httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def notify(topics: KafkaSettings, database: PostgresSettings) -> AsyncIterator[RunningNotify]:
    settings = notify_settings(topics, database)
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    running = RunningNotify(settings)
    await wait_ready(running.http)
    yield running
    stop.set()
    async with asyncio.timeout(30):
        await task


@pytest.fixture(scope="module")
async def alarm_timeline(topics: KafkaSettings, database: PostgresSettings) -> AsyncIterator[None]:
    """The alarm service's consumer of `notify.receipts`: it puts the terminals' receipts on
    the alarms' timelines (notify does not write the alarm service's tables)."""
    settings = AlarmSettings(
        kafka=topics, postgres=database, consume_intake=False, consume_workorders=False
    )
    async with hosted(await build_alarm(settings), http=False):
        yield


@pytest.fixture(scope="module")
async def producer(topics: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(topics)
    await producer.start()
    yield producer
    await producer.stop()


async def publish(
    producer: AIOKafkaProducer, kafka: KafkaSettings, topic: str, key: str, message: BaseModel
) -> None:
    await producer.send_and_wait(kafka.topic(topic), encode(message), key=key.encode())


def work_order(
    unit_id: str, *, action: WorkOrderAction = WorkOrderAction.assign, **fields: Any
) -> WorkOrder:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "work_order_id": uuid.uuid4(),
        "action": action,
        "alarm_id": uuid.uuid4(),
        "unit_id": unit_id,
        "platform_id": "SY-P01",
        "category": AlarmCategory.theft,
        "priority": 2,
        "tier": ResponseTier.central_city,
        "target_seconds": 300,
        "scene": {"lat": 27.2389, "lon": 111.4677},
        "reported_at": now,
        "issued_at": now,
        "eta_seconds": 120.0,
        "accept_within_seconds": 60,
        "reason": "nearest_available",
    }
    if action is WorkOrderAction.withdraw:
        values["withdraw_reason"] = "preempted"
    values.update(fields)
    return WorkOrder(**values)


def unit(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class TopicReader:
    """Reads a topic from the start and keeps the decoded messages matching a filter."""

    def __init__(self, kafka: KafkaSettings, topic: str, model: type[BaseModel]) -> None:
        self.consumer = make_consumer(kafka, topic, group_id=None)
        self.model = model
        self.seen: list[Any] = []
        self.keys: dict[int, bytes | None] = {}  # id(message) -> its record's key

    async def __aenter__(self) -> "TopicReader":
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def wait_for(self, condition: Any, deadline_s: float = 30) -> list[Any]:
        async with asyncio.timeout(deadline_s):
            while True:
                matching = [message for message in self.seen if condition(message)]
                if matching:
                    return matching
                batches = await self.consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        message = decode(self.model, record.value)
                        self.keys[id(message)] = record.key
                        self.seen.append(message)

    def key_of(self, message: Any) -> str | None:
        key = self.keys.get(id(message))
        return key.decode() if key is not None else None
