"""The tracking service built in-process against the session's broker topics and database."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from kj_runtime.credentials import token_hash
from kj_runtime.host import Host
from kj_runtime.kafka import make_producer
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import encode
from kj_schemas.topics import DISPATCH_WORKORDERS, PATROL_PINGS, UNITS_STATE, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrder
from kj_tracking.adapters.ping_codec import encode_fix
from kj_tracking.bootstrap import build
from kj_tracking.domain.units import Fix
from kj_tracking.service_layer.tracker import Tracker
from kj_tracking.settings import TrackingSettings
from tests.isolation import package_database, package_topics
from tests.stack import read_to_end

database = package_database()  # this package's own database and topics (tests/isolation.py)
topics = package_topics()

UNIT = "SY-P01-C1"
# the tracking API's operators: one sees the whole city, one only platform SY-P01
OPERATOR_TOKEN = "operator-token-for-tests"
P01_TOKEN = "p01-operator-token-for-tests"
OPERATOR_AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
P01_AUTH = {"Authorization": f"Bearer {P01_TOKEN}"}
OPERATOR_HASHES = orjson.dumps(
    {"ops": token_hash(OPERATOR_TOKEN), "p01": token_hash(P01_TOKEN)}
).decode()
OPERATOR_PLATFORMS = {"p01": ["SY-P01"]}
CHECKPOINT = (27.25146, 111.456798)  # SY-P01-K1, radius 40 m
StartService = Callable[..., Awaitable["Running"]]


def tracking_settings(
    kafka: KafkaSettings, postgres: PostgresSettings, **kw: object
) -> TrackingSettings:
    options: dict[str, object] = {
        "group_id": f"tracking-{uuid.uuid4().hex[:6]}",
        "operator_token_sha256": OPERATOR_HASHES,
        "operator_platforms": OPERATOR_PLATFORMS,
        "checkin_dwell_s": 30,
        "sweep_interval_s": 0.2,
        **kw,
    }
    return TrackingSettings(kafka=kafka, postgres=postgres, **options)


@pytest.fixture
async def producer(topics: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(topics)
    await producer.start()
    yield producer
    await producer.stop()


@dataclass
class Running:
    """A tracking process started by the service host, as the command line starts it."""

    host: Host[Tracker]

    @property
    def tracker(self) -> Tracker:
        return self.host.core


@pytest.fixture
async def start_service(
    topics: KafkaSettings, database: PostgresSettings
) -> AsyncIterator[StartService]:
    running: list[Host[Tracker]] = []

    async def start(**kw: object) -> Running:
        service = await build(tracking_settings(topics, database, **kw))
        host = Host(service, asyncio.Event())
        running.append(host)
        async with asyncio.timeout(60):
            await host.start(http=False)
        return Running(host)

    yield start
    for host in running:
        async with asyncio.timeout(30):
            await host.close()


def drive(
    start: tuple[float, float],
    end: tuple[float, float],
    t0: float,
    steps: int,
    dt: float = 1.0,
    unit: str = UNIT,
) -> list[Fix]:
    """Fixes every `dt` seconds on a straight line from start to end."""
    return [
        Fix(
            unit,
            t0 + i * dt,
            start[0] + (end[0] - start[0]) * i / max(steps, 1),
            start[1] + (end[1] - start[1]) * i / max(steps, 1),
            30.0,
            0.0,
            8.0,
        )
        for i in range(steps + 1)
    ]


async def send_fixes(producer: AIOKafkaProducer, kafka: KafkaSettings, fixes: list[Fix]) -> None:
    for fix in fixes:
        await producer.send(
            kafka.topic(PATROL_PINGS.name), encode_fix(fix), key=fix.unit_id.encode()
        )
    await producer.flush()


def work_order(scene: tuple[float, float], *, unit: str = UNIT) -> WorkOrder:
    now = datetime.now(UTC)
    return WorkOrder.model_validate(
        {
            "work_order_id": str(uuid.uuid4()),
            "action": "assign",
            "alarm_id": str(uuid.uuid4()),
            "unit_id": unit,
            "platform_id": "SY-P01",
            "category": "theft",
            "priority": 2,
            "tier": "central_city",
            "target_seconds": 180,
            "scene": {"lat": scene[0], "lon": scene[1]},
            "reported_at": now,
            "issued_at": now,
            "eta_seconds": 60.0,
            "accept_within_seconds": 30,
            "reason": "nearest_available",
        }
    )


async def send_work_order(
    producer: AIOKafkaProducer, kafka: KafkaSettings, order: WorkOrder
) -> None:
    await producer.send_and_wait(
        kafka.topic(DISPATCH_WORKORDERS.name), encode(order), key=order.unit_id.encode()
    )


async def on_scene_events(kafka: KafkaSettings, work_order_id: str) -> list[dict[str, object]]:
    """Every on_scene event for the work order on workorders.events, read to the end."""
    events = [
        orjson.loads(r.value) for r in await read_to_end(kafka, kafka.topic(WORKORDERS_EVENTS.name))
    ]
    return [e for e in events if e["work_order_id"] == work_order_id and e["kind"] == "on_scene"]


async def published_statuses(kafka: KafkaSettings, unit_id: str) -> list[str]:
    """The unit's statuses on units.state, oldest first, read to the end."""
    states = [
        orjson.loads(r.value) for r in await read_to_end(kafka, kafka.topic(UNITS_STATE.name))
    ]
    return [s["status"] for s in states if s["unit_id"] == unit_id]


async def eventually(condition: Callable[[], object], *, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.1)
