"""The Kafka side: reports on alarms.intake, work orders and unit events filling the
timeline and status of an alarm, and the terminals' receipts from notify on its timeline."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kj_alarm.bootstrap import Alarm
from kj_runtime.host import Service
from kj_runtime.kafka import make_producer
from kj_runtime.settings import KafkaSettings
from kj_schemas import codec
from kj_schemas.alarms import AlarmStatusChanged
from kj_schemas.deadletter import DeadLetter
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.workorders import WorkOrder, WorkOrderEvent

from .conftest import AUTH, read_topic, report


@pytest.fixture(autouse=True)
def running(alarm_service: Service[Alarm]) -> Service[Alarm]:
    """The service with its consumers, for every test here."""
    return alarm_service


@pytest.fixture
async def producer(topics: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(topics)
    await producer.start()
    yield producer
    await producer.stop()


async def wait_for(check: Any, *, deadline_s: float = 30) -> Any:
    async with asyncio.timeout(deadline_s):
        while not (result := await check()):
            await asyncio.sleep(0.05)
    return result


async def test_a_report_on_the_intake_topic_is_taken_in_like_a_post(
    producer: AIOKafkaProducer, topics: KafkaSettings, db: asyncpg.Connection
) -> None:
    body = report()
    await producer.send_and_wait(topics.topic("alarms.intake"), codec.encode_json(body), key=b"k")
    await producer.send_and_wait(topics.topic("alarms.intake"), codec.encode_json(body), key=b"k")

    async def row() -> Any:
        return await db.fetchrow(
            "select status, tier from alarms where source_alarm_id = $1", body["source_alarm_id"]
        )

    found = await wait_for(row)
    assert found["status"] == "accepted"
    count = await db.fetchval(
        "select count(*) from alarms where source_alarm_id = $1", body["source_alarm_id"]
    )
    assert count == 1


async def test_bad_intake_records_go_to_dead_letters_with_the_reason(
    producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    marker = uuid.uuid4().hex
    bad = report(priority=9, source_alarm_id=f"BAD-{marker}")
    await producer.send_and_wait(topics.topic("alarms.intake"), codec.encode_json(bad))
    await producer.send_and_wait(topics.topic("alarms.intake"), f"not json {marker}".encode())

    def both(records: list[Any]) -> bool:
        return sum(marker.encode() in r.value for r in records) >= 2

    records = await read_topic(topics, "deadletters", until=both)
    letters = [codec.decode(DeadLetter, r.value) for r in records if marker.encode() in r.value]
    assert {letter.reason for letter in letters} == {"schema", "invalid_json"}
    assert any("priority" in letter.detail for letter in letters)


async def test_work_orders_and_unit_events_fill_the_timeline_status_and_response_time(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    answer = await client.post(
        "/v1/alarms", json=report(location={"lat": 27.2389, "lon": 111.4677}), headers=AUTH
    )
    alarm_id = answer.json()["alarm_id"]
    view = (await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)).json()
    received = datetime.fromisoformat(view["received_at"])
    work_order_id = uuid.uuid4()
    order = WorkOrder(
        work_order_id=work_order_id,
        action="assign",
        alarm_id=uuid.UUID(alarm_id),
        unit_id="SY-P03-M1",
        platform_id="SY-P03",
        category="theft",
        priority=2,
        tier="key_location",
        target_seconds=60,
        scene={"lat": 27.2389, "lon": 111.4677},
        reported_at=received,
        issued_at=received + timedelta(seconds=1),
        eta_seconds=45.0,
        accept_within_seconds=15,
        reason="fastest_eta",
    )
    await producer.send_and_wait(
        topics.topic("dispatch.workorders"), codec.encode(order), key=b"SY-P03-M1"
    )
    events = [
        WorkOrderEvent(
            work_order_id=work_order_id,
            unit_id="SY-P03-M1",
            kind=kind,
            source=source,
            occurred_at=received + timedelta(seconds=s),
            **extra,
        )
        for kind, source, s, extra in (
            ("accepted", "terminal", 5, {}),
            ("on_scene", "gps", 50, {}),
            ("closed", "terminal", 600, {"disposition_code": "resolved"}),
        )
    ]
    for event in [*events, events[1]]:  # the on-scene event twice: counted once
        await producer.send_and_wait(
            topics.topic("workorders.events"), codec.encode(event), key=b"SY-P03-M1"
        )

    async def closed() -> Any:
        view = (await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)).json()
        return view if view["status"] == "closed" else None

    view = await wait_for(closed)
    kinds = [e["kind"] for e in view["timeline"]]
    assert kinds == ["received", "classified", "assigned", "accepted", "on_scene", "closed"]
    assigned = view["timeline"][2]
    assert assigned["unit_id"] == "SY-P03-M1" and assigned["detail"]["eta_seconds"] == 45.0
    assert view["response_seconds"] == pytest.approx(50, abs=0.01) and view["target_met"] is True

    def three(records: list[Any]) -> bool:
        return sum(alarm_id.encode() in r.value for r in records) >= 4

    records = await read_topic(topics, "alarms.status", until=three)
    statuses = [
        codec.decode(AlarmStatusChanged, r.value).status
        for r in records
        if alarm_id.encode() in r.value
    ]
    assert statuses == ["accepted", "assigned", "on_scene", "closed"]
    assert all(r.key == alarm_id.encode() for r in records if alarm_id.encode() in r.value)


async def test_terminal_receipts_from_notify_go_on_the_alarms_timeline_once_each(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    alarm_id = uuid.UUID(
        (await client.post("/v1/alarms", json=report(), headers=AUTH)).json()["alarm_id"]
    )
    work_order_id, late_order_id = uuid.uuid4(), uuid.uuid4()
    at = datetime.now(UTC)

    def receipt(status: str, seconds: float, **fields: Any) -> DeliveryReceipt:
        values: dict[str, Any] = {
            "notification_id": uuid.uuid4(),
            "channel": "terminal",
            "recipient": "SY-P05-M2",
            "ref_id": work_order_id,
            "status": status,
            "at": at + timedelta(seconds=seconds),
            "alarm_id": alarm_id,
            "action": "assign",
            "delivery_id": 7,
        }
        return DeliveryReceipt(**(values | fields))

    delivered = receipt("delivered", 1)
    failed = receipt(
        "failed", 2, ref_id=late_order_id, delivery_id=8, detail="terminal did not acknowledge"
    )
    marker = uuid.uuid4().hex
    sent = [
        codec.encode(delivered),
        codec.encode(delivered),  # at least once from notify's outbox: recorded once
        codec.encode(failed),
        codec.encode(
            receipt("delivered", 3, channel="taxi", recipient="taxi-0001")
        ),  # not a work order's
        codec.encode(receipt("delivered", 4, alarm_id=uuid.uuid4())),  # an alarm not known here
        f"not a receipt {marker}".encode(),
        codec.encode(receipt("read", 5)),
    ]
    for value in sent:  # one key: one partition, handled in this order
        await producer.send_and_wait(
            topics.topic("notify.receipts"), value, key=str(work_order_id).encode()
        )

    async def read_on_timeline() -> Any:
        view = (await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)).json()
        kinds = [e["kind"] for e in view["timeline"]]
        return view["timeline"] if "terminal_read" in kinds else None

    timeline = await wait_for(read_on_timeline)
    terminal = [
        (e["kind"], e["unit_id"], e["work_order_id"], e["detail"])
        for e in timeline
        if e["kind"].startswith("terminal_")
    ]
    first = {"action": "assign", "delivery_id": 7}
    assert terminal == [
        ("terminal_delivered", "SY-P05-M2", str(work_order_id), first),
        (
            "terminal_failed",
            "SY-P05-M2",
            str(late_order_id),
            {"action": "assign", "delivery_id": 8, "cause": "terminal did not acknowledge"},
        ),
        ("terminal_read", "SY-P05-M2", str(work_order_id), first),
    ]

    records = await read_topic(
        topics, "deadletters", until=lambda rs: any(marker.encode() in r.value for r in rs)
    )
    [letter] = [codec.decode(DeadLetter, r.value) for r in records if marker.encode() in r.value]
    assert (letter.source_topic, letter.reason) == (
        topics.topic("notify.receipts"),
        "invalid_json",
    )


async def test_board_since_filters_by_time(client: httpx.AsyncClient) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    page = await client.get("/v1/alarms", params={"since": later}, headers=AUTH)
    assert page.status_code == 200 and page.json()["items"] == []
