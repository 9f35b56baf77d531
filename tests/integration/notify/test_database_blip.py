"""An officer's answer while PostgreSQL restarts is kept, not dropped with the socket (issue 14:
the socket closed 1011 with no error frame, and the HTTP route answered 500). The database is
reached through a gate the test closes and opens again, as a restart does to its clients."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kj_notify.bootstrap import run
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.topics import DISPATCH_WORKORDERS, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrderEvent
from tests.tcp_gate import TcpGate, gate_to

from .conftest import (
    RunningNotify,
    TopicReader,
    notify_settings,
    publish,
    unit,
    wait_ready,
    work_order,
)
from .terminal_client import Terminal, token_for

KEEP_S = 3.0  # how long the gateway keeps an answer while the database does not answer


@pytest.fixture(scope="module")
async def gate(database: PostgresSettings) -> AsyncIterator[TcpGate]:
    async with gate_to(database) as gate:
        yield gate


@pytest.fixture(scope="module")
async def gated_notify(
    topics: KafkaSettings, database: PostgresSettings, gate: TcpGate
) -> AsyncIterator[RunningNotify]:
    settings = notify_settings(topics, gate.settings(database), answer_keep_s=KEEP_S)
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    running = RunningNotify(settings)
    await wait_ready(running.http)
    yield running
    await gate.open()
    stop.set()
    async with asyncio.timeout(30):
        await task


async def holding_a_work_order(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db: asyncpg.Connection
) -> tuple[Terminal, str]:
    """A terminal that holds a work order, recorded and acknowledged before the database goes."""
    unit_id = unit("BLIP")
    terminal = await Terminal(notify.ws, unit_id).connect()
    order = work_order(unit_id)
    await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
    await terminal.wait_for(lambda: str(order.work_order_id) in terminal.assigned())
    async with asyncio.timeout(20):
        while not await db.fetchval(
            "select delivered_at is not null from terminal_deliveries where work_order_id = $1",
            order.work_order_id,
        ):
            await asyncio.sleep(0.05)
    return terminal, str(order.work_order_id)


async def test_an_answer_given_while_the_database_restarts_is_kept_and_passed_on(
    gated_notify: RunningNotify,
    gate: TcpGate,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
) -> None:
    terminal, wo = await holding_a_work_order(gated_notify, producer, topics, db)
    given = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    try:
        async with TopicReader(topics, WORKORDERS_EVENTS.name, WorkOrderEvent) as events:
            await gate.close()
            sent = datetime.now(UTC)
            await terminal.send(
                {
                    "type": "event",
                    "work_order_id": wo,
                    "kind": "accepted",
                    "occurred_at": given.isoformat(),
                }
            )
            await asyncio.sleep(1.0)  # the database is away for a second
            await gate.open()
            reply = await terminal.next_reply(wo, deadline_s=20)
            assert reply["type"] == "ok", reply
            assert terminal.connection is not None and terminal.connection.close_code is None
            (event,) = await events.wait_for(lambda e: str(e.message_id) == reply["event_id"])
        # the gateway's receipt, before the database came back, and the officer's own time
        assert event.received_at is not None
        assert abs((event.received_at - sent).total_seconds()) < 0.5
        assert event.occurred_at == given
    finally:
        await gate.open()
        await terminal.close()


async def test_an_answer_the_gateway_cannot_keep_gets_an_error_frame_to_resend(
    gated_notify: RunningNotify,
    gate: TcpGate,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
) -> None:
    terminal, wo = await holding_a_work_order(gated_notify, producer, topics, db)
    try:
        async with TopicReader(topics, WORKORDERS_EVENTS.name, WorkOrderEvent) as events:
            await gate.close()
            await terminal.send({"type": "event", "work_order_id": wo, "kind": "accepted"})
            error = await terminal.next_reply(wo, deadline_s=KEEP_S + 15)
            assert error["type"] == "error" and error["reason"] == "unavailable", error
            assert error["retry_after_s"] > 0 and uuid.UUID(error["event_id"])
            assert terminal.connection is not None and terminal.connection.close_code is None
            await gate.open()
            resend = {"type": "event", "work_order_id": wo, "kind": "accepted"}
            await terminal.send({**resend, "event_id": error["event_id"]})

            def replied() -> bool:
                return any(f.get("type") == "ok" and f.get("ref") == wo for f in terminal.frames)

            await terminal.wait_for(replied)
            await events.wait_for(lambda e: str(e.message_id) == error["event_id"])
            await asyncio.sleep(1.0)  # anything else about this order would be here by now
            await events.wait_for(lambda e: True)
            mine = [e for e in events.seen if str(e.work_order_id) == wo]
        assert [str(e.message_id) for e in mine] == [error["event_id"]]
    finally:
        await gate.open()
        await terminal.close()


async def test_the_http_answer_route_says_503_with_retry_after_when_the_database_is_away(
    gated_notify: RunningNotify,
    gate: TcpGate,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
) -> None:
    terminal, wo = await holding_a_work_order(gated_notify, producer, topics, db)
    await terminal.close()
    headers = {
        "Authorization": f"Bearer {token_for(terminal.unit_id)}",
        "X-KJ-Unit": terminal.unit_id,
    }
    try:
        await gate.close()
        async with httpx.AsyncClient(base_url=gated_notify.http, timeout=KEEP_S + 15) as client:
            answer = await client.post(
                f"/v1/workorders/{wo}/events", json={"kind": "accepted"}, headers=headers
            )
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["retry-after"]) > 0
            await gate.open()
            again = await client.post(
                f"/v1/workorders/{wo}/events", json={"kind": "accepted"}, headers=headers
            )
            assert again.status_code == 202, again.text
    finally:
        await gate.open()


async def test_one_ack_out_of_range_is_refused_alone_and_the_others_are_recorded(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db: asyncpg.Connection
) -> None:
    unit_id = unit()
    terminal = Terminal(notify.ws, unit_id, ack=False)
    await terminal.connect()
    try:
        order = work_order(unit_id)
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
        await terminal.wait_for(lambda: str(order.work_order_id) in terminal.assigned())
        delivery_id = terminal.orders[(str(order.work_order_id), "assign")]["delivery_id"]
        await terminal.send({"type": "ack", "delivery_id": 2**63})  # beyond the bigint column
        await terminal.send({"type": "ack", "delivery_id": delivery_id})

        def refused() -> bool:
            return any(f["type"] == "error" and f["reason"] == "bad_frame" for f in terminal.frames)

        await terminal.wait_for(refused)
        async with asyncio.timeout(20):
            while not await db.fetchval(
                "select delivered_at is not null from terminal_deliveries where seq = $1",
                delivery_id,
            ):
                await asyncio.sleep(0.05)
    finally:
        await terminal.close()
