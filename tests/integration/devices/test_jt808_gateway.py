"""A scripted 808 terminal against the real gateway, broker and database."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from kj_devices.domain.jt808 import bodies as b
from kj_devices.metrics import CLOSED
from kj_runtime.host import Host
from kj_runtime.kafka import make_producer
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import encode
from kj_schemas.topics import DISPATCH_WORKORDERS, UNITS_STATE, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrder
from kj_sim.jt808_terminal import Jt808Terminal, Refused
from kj_tracking.bootstrap import build as build_tracking
from kj_tracking.settings import TrackingSettings
from tests.stack import read_to_end

from .conftest import Bind, Gateway, eventually, number, pings_of

PLATFORM = (27.25146, 111.456798)  # near SY-P01's checkpoint K1


def closed(reason: str) -> float:
    return CLOSED.labels(reason)._value.get()


async def states_of(kafka: KafkaSettings, unit_id: str) -> list[dict[str, object]]:
    records = await read_to_end(kafka, kafka.topic(UNITS_STATE.name))
    return [orjson.loads(r.value) for r in records if r.key == unit_id.encode()]


async def test_a_terminal_registers_authenticates_reports_and_its_unit_moves(
    gateway: Gateway, bind: Bind, terminals, topics: KafkaSettings, database: PostgresSettings
):
    unit = "SY-P01-C1"
    terminal_number = number()
    await bind(terminal_number, unit)
    tracking = Host(
        await build_tracking(
            TrackingSettings(
                kafka=topics, postgres=database, group_id=f"tracking-{uuid.uuid4().hex[:6]}"
            )
        ),
        asyncio.Event(),
    )
    await tracking.start(http=False)
    try:
        terminal: Jt808Terminal = terminals(terminal_number, version=1)  # a 2019 terminal
        await terminal.connect("127.0.0.1", gateway.port)
        code = await terminal.register()
        await terminal.authenticate(code)
        start = datetime.now(UTC) - timedelta(seconds=10)
        for i in range(5):
            lat, lon = PLATFORM[0] + i * 0.0009, PLATFORM[1]  # 100 m a step, north
            serial = await terminal.report(
                lat, lon, at=start + timedelta(seconds=2 * i), speed_kmh=36.0, heading=0
            )
            answer = await terminal.expect(b.PLATFORM_RESPONSE)
            assert b.decode_general_response(answer.body) == (serial, b.LOCATION, b.OK)

        async def moved() -> bool:
            states = await states_of(topics, unit)
            return any(abs(float(s["lat"]) - (PLATFORM[0] + 4 * 0.0009)) < 1e-6 for s in states)

        await eventually(moved)
        pings = await pings_of(topics, unit)
        assert [round(float(p["lat"]), 6) for p in pings[-5:]] == [
            round(PLATFORM[0] + i * 0.0009, 6) for i in range(5)
        ]
        assert pings[-1]["speed_kmh"] == 36.0 and pings[-1]["heading_deg"] == 0.0
    finally:
        await tracking.close()


async def test_an_unbound_device_is_refused_and_counted(gateway: Gateway, terminals):
    before = closed("unknown_terminal")
    terminal = terminals(number())
    await terminal.connect("127.0.0.1", gateway.port)
    with pytest.raises(Refused):
        await terminal.register()
    await asyncio.wait_for(terminal.closed.wait(), 5)
    assert closed("unknown_terminal") == before + 1


async def test_a_wrong_code_is_refused(gateway: Gateway, bind: Bind, terminals):
    terminal_number = number()
    await bind(terminal_number, "SY-P01-C2")
    terminal = terminals(terminal_number)
    await terminal.connect("127.0.0.1", gateway.port)
    with pytest.raises(Refused):
        await terminal.authenticate("not-the-code")
    await asyncio.wait_for(terminal.closed.wait(), 5)


def work_order(unit: str, action: str = "assign", order_id: str | None = None) -> WorkOrder:
    now = datetime.now(UTC)
    return WorkOrder.model_validate(
        {
            "work_order_id": order_id or str(uuid.uuid4()),
            "action": action,
            "alarm_id": str(uuid.uuid4()),
            "unit_id": unit,
            "platform_id": "SY-P01",
            "category": "fight",
            "priority": 1,
            "tier": "central_city",
            "target_seconds": 180,
            "scene": {"lat": PLATFORM[0], "lon": PLATFORM[1]},
            "address": "双清区西湖路12号",
            "reported_at": now,
            "issued_at": now,
            "eta_seconds": 60.0,
            "accept_within_seconds": 30,
            "reason": "nearest_available",
            "withdraw_reason": "cancelled_by_caller" if action == "withdraw" else None,
        }
    )


async def test_an_808_only_vehicle_gets_its_work_order_as_text_and_its_answer_accepts_it(
    gateway: Gateway, bind: Bind, terminals, topics: KafkaSettings
):
    unit = "SY-P01-M1"
    terminal_number = number()
    await bind(terminal_number, unit, text_dispatch=True)
    terminal = terminals(terminal_number)
    await terminal.sign_in("127.0.0.1", gateway.port)
    order = work_order(unit)
    producer = make_producer(topics)
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.topic(DISPATCH_WORKORDERS.name), encode(order), key=unit.encode()
        )
        message, text = await asyncio.wait_for(terminal.texts.get(), 30)
        assert message.msg_id == b.TEXT
        assert "双清区西湖路12号" in text and "打架斗殴" in text
        assert str(order.work_order_id)[:8] in text
        sent_at = datetime.now(UTC)
        await terminal.acknowledge(message)

        async def accepted() -> list[dict[str, object]]:
            records = await read_to_end(topics, topics.topic(WORKORDERS_EVENTS.name))
            events = [orjson.loads(r.value) for r in records]
            return [e for e in events if e["work_order_id"] == str(order.work_order_id)]

        await eventually(accepted)
        (event,) = await accepted()
        assert event["kind"] == "accepted" and event["source"] == "terminal"
        received = datetime.fromisoformat(str(event["received_at"]))
        assert abs((received - sent_at).total_seconds()) < 5
        assert event["occurred_at"] == event["received_at"]

        # withdrawn: the crew is told at once
        await producer.send_and_wait(
            topics.topic(DISPATCH_WORKORDERS.name),
            encode(work_order(unit, "withdraw", str(order.work_order_id))),
            key=unit.encode(),
        )
        _, text = await asyncio.wait_for(terminal.texts.get(), 30)
        assert text.startswith("【撤销工单")
    finally:
        await producer.stop()


async def test_garbage_on_one_connection_leaves_the_others_reporting(
    gateway: Gateway, bind: Bind, terminals, topics: KafkaSettings
):
    good_number, bad_number = number(), number()
    await bind(good_number, "SY-P01-M2")
    await bind(bad_number, "SY-P01-M3")
    good, bad = terminals(good_number), terminals(bad_number)
    await good.sign_in("127.0.0.1", gateway.port)
    await bad.sign_in("127.0.0.1", gateway.port)
    silent = terminals(number())
    await silent.connect("127.0.0.1", gateway.port)  # never says a word

    before = closed("garbage")
    bad.write_raw(b"\x7e" + b"\x00\x02\x00\x00garbage-garbage\x11" + b"\x7e")  # bad check code
    bad.write_raw(b"\x7e\x01\x02\x7e" * 3)
    await asyncio.wait_for(bad.closed.wait(), 5)
    assert closed("garbage") == before + 1

    at = datetime.now(UTC)
    serial = await good.report(PLATFORM[0], PLATFORM[1], at=at)
    answer = await good.expect(b.PLATFORM_RESPONSE)
    assert b.decode_general_response(answer.body)[0] == serial

    async def published() -> bool:
        pings = await pings_of(topics, "SY-P01-M2")
        return any(p["ts"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S")) for p in pings)

    await eventually(published)
    # the connection that never authenticated is closed once its time is up (3 s here)
    await asyncio.wait_for(silent.closed.wait(), 10)
    assert not good.closed.is_set()


async def test_a_revoked_terminal_is_cut_off(gateway: Gateway, bind: Bind, terminals, db):
    from kj_devices.adapters.registry_store import revoke

    terminal_number = number()
    await bind(terminal_number, "SY-P02-C1")
    terminal = terminals(terminal_number)
    await terminal.sign_in("127.0.0.1", gateway.port)
    assert await revoke(db, terminal_number)
    await asyncio.wait_for(terminal.closed.wait(), 10)
