"""Broadcasts to taxi drivers and volunteers: everyone of the audience within the radius gets
the task once, through the HTTP push channel, and nobody outside it."""

import asyncio
import math
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from kj_notify.bootstrap import run
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import decode
from kj_schemas.enums import NotificationChannel
from kj_schemas.notify import BroadcastRequested, Notification
from kj_schemas.topics import NOTIFY_BROADCASTS

from .callback_receiver import Receiver, running_receiver
from .conftest import RunningNotify, notify_settings, publish, wait_ready


@pytest.fixture(scope="module")
async def push_gateway() -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
async def notify(
    topics: KafkaSettings, database: PostgresSettings, push_gateway: Receiver
) -> AsyncIterator[RunningNotify]:
    settings = notify_settings(topics, database, push_url=push_gateway.url("/push"))
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    running = RunningNotify(settings)
    await wait_ready(running.http)
    yield running
    stop.set()
    async with asyncio.timeout(30):
        await task


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


async def test_everyone_of_the_audience_within_the_radius_gets_the_task_once(
    notify: RunningNotify,
    push_gateway: Receiver,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db,
) -> None:
    center = {"lat": 27.2389, "lon": 111.4677}
    request = BroadcastRequested(
        broadcast_id=uuid.uuid4(),
        audience=[NotificationChannel.taxi],
        center=center,
        radius_m=1500.0,
        text="嫌疑人男, 30岁左右, 黑色上衣, 向火车站方向逃跑",
        requested_by="command_centre",
        requested_at=datetime.now(UTC),
    )
    registry = await db.fetch("select recipient_id, kind, lat, lon from field_recipients")
    expected = {
        row["recipient_id"]
        for row in registry
        if row["kind"] == "taxi"
        and metres(center["lat"], center["lon"], row["lat"], row["lon"]) <= 1500.0
    }
    assert 5 < len(expected) < len(registry)  # the sample registry makes this a real test

    def pushed() -> list[Notification]:
        return [
            n
            for n in (decode(Notification, r.body) for r in push_gateway.at("/push"))
            if n.ref_id == request.broadcast_id
        ]

    await publish(producer, topics, NOTIFY_BROADCASTS.name, str(request.broadcast_id), request)
    await push_gateway.wait_for(lambda: len(pushed()) >= len(expected))

    # the same broadcast requested again (a new message) reaches nobody twice
    repeat = request.model_copy(update={"message_id": uuid.uuid4()})
    await publish(producer, topics, NOTIFY_BROADCASTS.name, str(request.broadcast_id), repeat)
    async with asyncio.timeout(20):
        while not await db.fetchval(
            "select true from processed_messages where message_id = $1", repeat.message_id
        ):
            await asyncio.sleep(0.05)
        while await db.fetchval(
            "select count(*) from broadcast_deliveries where broadcast_id = $1 "
            "and status = 'pending'",
            request.broadcast_id,
        ):
            await asyncio.sleep(0.05)

    recipients = [n.recipient for n in pushed()]
    assert sorted(recipients) == sorted(expected)
    assert all(n.channel is NotificationChannel.taxi for n in pushed())
    assert await db.fetchval(
        "select count(*) from broadcast_deliveries where broadcast_id = $1 "
        "and status = 'delivered'",
        request.broadcast_id,
    ) == len(expected)
