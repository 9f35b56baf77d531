"""Dispatchers' actions on an alarm's timeline, with the person who took them (issue 17):
dispatch's answers to their commands (`dispatch.command_results`), a close by the command centre
that stands the units down without moving the alarm back to waiting, and an unmerge by name."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kj_alarm.bootstrap import Alarm
from kj_runtime.host import Service
from kj_runtime.kafka import make_producer
from kj_runtime.settings import KafkaSettings
from kj_schemas import codec
from kj_schemas.alarms import AlarmStatusChanged
from kj_schemas.commands import CLOSED_BY_COMMAND_CENTRE, CommandHandled
from kj_schemas.workorders import WorkOrder

from .conftest import AUTH, read_topic, report
from .test_kafka_paths import wait_for


@pytest.fixture(autouse=True)
def running(alarm_service: Service[Alarm]) -> Service[Alarm]:
    return alarm_service


@pytest.fixture
async def producer(topics: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(topics)
    await producer.start()
    yield producer
    await producer.stop()


def order(alarm_id: str, action: str, **extra: Any) -> WorkOrder:
    at = datetime.now(UTC)
    return WorkOrder(
        work_order_id=extra.pop("work_order_id", uuid.uuid4()),
        action=action,
        alarm_id=uuid.UUID(alarm_id),
        unit_id="SY-P04-M1",
        platform_id="SY-P04",
        category="theft",
        priority=2,
        tier="central_city",
        target_seconds=180,
        scene={"lat": 27.2389, "lon": 111.4677},
        reported_at=at - timedelta(seconds=5),
        issued_at=at,
        eta_seconds=45.0,
        accept_within_seconds=30,
        reason="closest_eta",
        **extra,
    )


def handled(alarm_id: str, kind: str, **extra: Any) -> CommandHandled:
    return CommandHandled(
        command_id=uuid.uuid4(),
        kind=kind,
        region="hunan-shaoyang",
        actor="zhang_wei",
        alarm_id=uuid.UUID(alarm_id),
        handled_at=datetime.now(UTC),
        **({"outcome": "done"} | extra),
    )


async def test_a_close_by_the_command_centre_is_on_the_timeline_with_who_and_closes_the_alarm(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    alarm_id = (await client.post("/v1/alarms", json=report(), headers=AUTH)).json()["alarm_id"]
    assign = order(alarm_id, "assign")
    stand_down = order(
        alarm_id,
        "withdraw",
        work_order_id=assign.work_order_id,
        withdraw_reason=CLOSED_BY_COMMAND_CENTRE,
    )
    refused = handled(alarm_id, "add_backup", outcome="refused", reason="unit_busy")
    close = handled(alarm_id, "close_alarm", disposition_code="false_alarm")
    for message, topic in (
        (assign, "dispatch.workorders"),
        (stand_down, "dispatch.workorders"),
        (refused, "dispatch.command_results"),
        (close, "dispatch.command_results"),
    ):
        await producer.send_and_wait(topics.topic(topic), codec.encode(message), key=b"x")

    async def closed() -> Any:
        view = (await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)).json()
        return view if view["status"] == "closed" else None

    view = await wait_for(closed)
    commands = [e for e in view["timeline"] if e["kind"] == "dispatcher_command"]
    assert [(c["detail"]["command"], c["detail"]["outcome"]) for c in commands] == [
        ("add_backup", "refused"),
        ("close_alarm", "done"),
    ]
    assert {c["detail"]["actor"] for c in commands} == {"zhang_wei"}
    assert commands[0]["detail"]["reason"] == "unit_busy"

    def four(records: list[Any]) -> bool:
        return sum(alarm_id.encode() in r.value for r in records) >= 3

    records = await read_topic(topics, "alarms.status", until=four)
    statuses = [
        codec.decode(AlarmStatusChanged, r.value).status
        for r in records
        if alarm_id.encode() in r.value
    ]
    # never back to `accepted` in between: the stand-down is part of the close
    assert statuses == ["accepted", "assigned", "closed"]


async def test_an_unmerge_names_the_person_on_both_timelines(client: httpx.AsyncClient) -> None:
    first = report()
    parent = (await client.post("/v1/alarms", json=first, headers=AUTH)).json()
    repeat = {**first, "source_alarm_id": f"T-{uuid.uuid4().hex[:12]}"}
    merged = (await client.post("/v1/alarms", json=repeat, headers=AUTH)).json()
    assert merged["status"] == "merged"
    undone = await client.post(
        f"/v1/alarms/{merged['alarm_id']}/unmerge", headers=AUTH, json={"actor": "li_na"}
    )
    assert undone.status_code == 200
    for alarm_id, kind in (
        (merged["alarm_id"], "unmerged"),
        (parent["alarm_id"], "caller_removed"),
    ):
        view = (await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)).json()
        (entry,) = [e for e in view["timeline"] if e["kind"] == kind]
        assert entry["detail"]["actor"] == "li_na"
