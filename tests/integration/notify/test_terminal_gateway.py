"""Officers' terminals over the real gateway: work orders reach them online and after a
reconnect, their answers become work-order events on Kafka, and no token speaks for another
unit."""

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from aiokafka import AIOKafkaProducer

from kj_notify.adapters import deliveries
from kj_runtime.settings import KafkaSettings
from kj_schemas.deadletter import DeadLetter
from kj_schemas.enums import EventSource, ReceiptStatus, WorkOrderAction, WorkOrderEventKind
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.topics import DEADLETTERS, DISPATCH_WORKORDERS, NOTIFY_RECEIPTS, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrderEvent

from .conftest import RunningNotify, TopicReader, publish, unit, work_order
from .terminal_client import Terminal, token_for


async def record_alarm(db: asyncpg.Connection) -> uuid.UUID:
    """The alarm as the alarm service records it, so receipts reach its timeline."""
    alarm_id = uuid.uuid4()
    await db.execute(
        "insert into alarms (alarm_id, region, source, source_alarm_id, body_sha256, reported_at, "
        "received_at, lat, lon, category, priority, tier, target_seconds, status) values "
        "($1, 'shaoyang', 'sy110', $2, '\\x00', now(), now(), 27.2389, 111.4677, 'theft', 2, "
        "'central_city', 180, 'assigned')",
        alarm_id,
        f"T-{alarm_id.hex[:8]}",
    )
    return alarm_id


async def timeline_rows(
    db: asyncpg.Connection, query: str, *args: Any, at_least: int, deadline_s: float = 30
) -> list[asyncpg.Record]:
    """The rows of `query` once there are `at_least` (the alarm service records receipts
    from notify.receipts, a moment after notify publishes them)."""
    async with asyncio.timeout(deadline_s):
        while len(rows := await db.fetch(query, *args)) < at_least:
            await asyncio.sleep(0.05)
    return rows


async def test_work_order_reaches_an_online_terminal(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db, alarm_timeline
) -> None:
    unit_id = unit()
    alarm_id = await record_alarm(db)
    terminal = await Terminal(notify.ws, unit_id).connect()
    try:
        order = work_order(unit_id, alarm_id=alarm_id)
        async with TopicReader(topics, NOTIFY_RECEIPTS.name, DeliveryReceipt) as receipts:
            await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
            await terminal.wait_for(lambda: str(order.work_order_id) in terminal.assigned())
            frame = terminal.orders[(str(order.work_order_id), "assign")]
            assert frame["work_order"]["alarm_id"] == str(alarm_id)
            assert frame["withdrawn"] is False
            await terminal.send({"type": "read", "delivery_id": frame["delivery_id"]})

            # the ack and the read become receipts on Kafka and on the alarm's timeline
            found = await receipts.wait_for(
                lambda r: r.ref_id == order.work_order_id and r.status is ReceiptStatus.read
            )
            assert found[0].recipient == unit_id
            await receipts.wait_for(
                lambda r: r.ref_id == order.work_order_id and r.status is ReceiptStatus.delivered
            )
        kinds = {
            row["kind"]
            for row in await timeline_rows(
                db,
                "select kind from alarm_timeline where alarm_id = $1 and work_order_id = $2",
                alarm_id,
                order.work_order_id,
                at_least=2,
            )
        }
        assert kinds == {"terminal_delivered", "terminal_read"}
        async with httpx.AsyncClient(base_url=notify.http) as client:
            metrics = (await client.get("/metrics")).text
        assert "kj_notify_terminals_connected" in metrics
        assert "kj_notify_delivery_latency_seconds_count" in metrics
        assert "kj_notify_undelivered_backlog" in metrics
    finally:
        await terminal.close()


async def test_offline_terminal_gets_its_orders_on_reconnect_in_order_with_withdrawals_marked(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db
) -> None:
    unit_id = unit()
    first, second = work_order(unit_id), work_order(unit_id)
    withdraw = work_order(
        unit_id, action=WorkOrderAction.withdraw, work_order_id=first.work_order_id
    )
    for message in (first, second, withdraw):
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, message)
    async with asyncio.timeout(20):  # stored while nobody is connected
        while (
            await db.fetchval(
                "select count(*) from terminal_deliveries where unit_id = $1", unit_id
            )
            < 3
        ):
            await asyncio.sleep(0.05)

    terminal = await Terminal(notify.ws, unit_id).connect()
    try:
        await terminal.wait_for(lambda: len(terminal.orders) == 3)
        received = [f for f in terminal.frames if f["type"] == "work_order"]
        assert [(f["work_order_id"], f["action"]) for f in received] == [
            (str(first.work_order_id), "assign"),
            (str(second.work_order_id), "assign"),
            (str(first.work_order_id), "withdraw"),
        ]
        assert received[0]["withdrawn"] is True
        assert received[1]["withdrawn"] is False
    finally:
        await terminal.close()


async def test_unacknowledged_orders_are_sent_again_on_reconnect(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    unit_id = unit()
    silent = await Terminal(notify.ws, unit_id, ack=False).connect()
    order = work_order(unit_id)
    try:
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
        await silent.wait_for(lambda: str(order.work_order_id) in silent.assigned())
    finally:
        await silent.close()
    again = await Terminal(notify.ws, unit_id).connect()
    try:
        await again.wait_for(lambda: str(order.work_order_id) in again.assigned())
    finally:
        await again.close()


async def nth_reply(terminal: Terminal, ref: str, n: int) -> dict[str, Any]:
    """The n-th reply (ok or error) the terminal got about `ref`, once it has arrived."""

    def replies() -> list[dict[str, Any]]:
        return [f for f in terminal.frames if f.get("ref") == ref]

    await terminal.wait_for(lambda: len(replies()) >= n)
    return replies()[n - 1]


async def test_answers_over_the_socket_become_the_work_order_events_dispatch_reads(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    unit_id = unit()
    terminal = await Terminal(notify.ws, unit_id).connect()
    order = work_order(unit_id)
    wo = str(order.work_order_id)
    answers: list[dict[str, object]] = [
        {"kind": "accepted", "event_id": str(uuid.uuid4())},
        {"kind": "en_route"},
        {"kind": "on_scene", "location": {"lat": 27.2391, "lon": 111.4675}},
        {"kind": "closed", "disposition_code": "resolved_on_scene"},
    ]
    try:
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
        await terminal.wait_for(lambda: wo in terminal.assigned())
        async with TopicReader(topics, WORKORDERS_EVENTS.name, WorkOrderEvent) as events:
            event_ids = []
            for n, answer in enumerate(answers, start=1):
                await terminal.send({"type": "event", "work_order_id": wo, **answer})
                reply = await nth_reply(terminal, wo, n)
                assert reply["type"] == "ok", reply
                event_ids.append(uuid.UUID(reply["event_id"]))
            # the terminal resends its first answer (it missed the reply): still one event
            await terminal.send({"type": "event", "work_order_id": wo, **answers[0]})
            assert (await nth_reply(terminal, wo, len(answers) + 1))["event_id"] == str(
                event_ids[0]
            )

            found = await events.wait_for(
                lambda e: (
                    e.work_order_id == order.work_order_id and e.kind is WorkOrderEventKind.closed
                )
            )
            mine = [e for e in events.seen if e.work_order_id == order.work_order_id]
            # what dispatch needs to act: its work order, the unit (also the record key, so one
            # unit's events stay in order), the kind in the order answered, and the details
            assert [e.kind for e in mine] == [
                WorkOrderEventKind.accepted,
                WorkOrderEventKind.en_route,
                WorkOrderEventKind.on_scene,
                WorkOrderEventKind.closed,
            ]
            assert [e.message_id for e in mine] == event_ids
            assert str(mine[0].message_id) == answers[0]["event_id"]
            assert all(e.unit_id == unit_id and events.key_of(e) == unit_id for e in mine)
            assert all(e.source is EventSource.terminal for e in mine)
            assert mine[2].location is not None
            assert (mine[2].location.lat, mine[2].location.lon) == (27.2391, 111.4675)
            assert found[0].disposition_code == "resolved_on_scene"
    finally:
        await terminal.close()


async def test_answers_that_break_the_rules_are_refused_with_a_reason(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    unit_id = unit()
    order = work_order(unit_id)
    withdraw = work_order(
        unit_id, action=WorkOrderAction.withdraw, work_order_id=order.work_order_id
    )
    wo = str(order.work_order_id)
    terminal = await Terminal(notify.ws, unit_id).connect()
    try:
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
        await terminal.wait_for(lambda: wo in terminal.assigned())
        refusals = [
            ({"kind": "closed"}, "disposition_required"),
            ({"kind": "rejected"}, "reason_required"),
        ]
        for n, (answer, reason) in enumerate(refusals, start=1):
            await terminal.send({"type": "event", "work_order_id": wo, **answer})
            reply = await nth_reply(terminal, wo, n)
            assert (reply["type"], reply["reason"]) == ("error", reason)

        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, withdraw)
        await terminal.wait_for(lambda: (wo, "withdraw") in terminal.orders)
        await terminal.send({"type": "event", "work_order_id": wo, "kind": "accepted"})
        reply = await nth_reply(terminal, wo, 3)
        assert (reply["type"], reply["reason"]) == ("error", "withdrawn")
    finally:
        await terminal.close()


async def test_answer_over_http_becomes_a_work_order_event(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    unit_id = unit()
    terminal = await Terminal(notify.ws, unit_id).connect()
    order = work_order(unit_id)
    try:
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
        await terminal.wait_for(lambda: str(order.work_order_id) in terminal.assigned())
    finally:
        await terminal.close()
    event_id = str(uuid.uuid4())
    async with (
        TopicReader(topics, WORKORDERS_EVENTS.name, WorkOrderEvent) as events,
        httpx.AsyncClient(base_url=notify.http) as client,
    ):
        headers = {"Authorization": f"Bearer {token_for(unit_id)}", "X-KJ-Unit": unit_id}
        body = {"kind": "rejected", "reason": "vehicle_breakdown", "event_id": event_id}
        for _ in range(2):  # a resend of the same answer is one event
            response = await client.post(
                f"/v1/workorders/{order.work_order_id}/events", json=body, headers=headers
            )
            assert response.status_code == 202, response.text
        found = await events.wait_for(lambda e: e.work_order_id == order.work_order_id)
        assert [(e.kind, e.reason) for e in found] == [
            (WorkOrderEventKind.rejected, "vehicle_breakdown")
        ]


async def test_a_token_for_one_unit_cannot_read_or_answer_another_units_orders(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    owner, intruder = unit("OWN"), unit("INT")
    order = work_order(owner)
    await publish(producer, topics, DISPATCH_WORKORDERS.name, owner, order)

    # the intruder's own token does not open the owner's socket
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Terminal(notify.ws, owner, token=token_for(intruder)).connect()
    assert refused.value.response.status_code == 403

    # connected as itself, it never sees the owner's order and may not answer it
    other = await Terminal(notify.ws, intruder).connect()
    mine = await Terminal(notify.ws, owner).connect()
    try:
        await mine.wait_for(lambda: str(order.work_order_id) in mine.assigned())
        await other.send(
            {"type": "event", "work_order_id": str(order.work_order_id), "kind": "accepted"}
        )
        reply = await other.next_reply(str(order.work_order_id))
        assert reply == {
            "type": "error",
            "reason": "not_your_work_order",
            "detail": "this unit holds no such work order",
            "ref": str(order.work_order_id),
        }
        # the connection stays up and still serves its own unit
        await other.send({"type": "nonsense"})
        await other.wait_for(lambda: any(f.get("reason") == "bad_frame" for f in other.frames))
        assert other.assigned() == set()
    finally:
        await other.close()
        await mine.close()

    async with httpx.AsyncClient(base_url=notify.http) as client:
        url = f"/v1/workorders/{order.work_order_id}/events"
        as_other = {"Authorization": f"Bearer {token_for(intruder)}", "X-KJ-Unit": intruder}
        response = await client.post(url, json={"kind": "accepted"}, headers=as_other)
        assert response.status_code == 403
        assert response.json()["reason"] == "not_your_work_order"
        forged = {"Authorization": f"Bearer {token_for(intruder)}", "X-KJ-Unit": owner}
        response = await client.post(url, json={"kind": "accepted"}, headers=forged)
        assert response.status_code == 401


async def test_a_repeated_work_order_message_is_kept_once_and_a_misaddressed_one_is_refused(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db
) -> None:
    unit_id, other = unit(), unit()
    order, after = work_order(unit_id), work_order(unit_id)
    misaddressed = work_order(unit_id)
    async with TopicReader(topics, DEADLETTERS.name, DeadLetter) as dead_letters:
        for message in (order, order, after):  # same key: handled in this order
            await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, message)
        await publish(producer, topics, DISPATCH_WORKORDERS.name, other, misaddressed)
        found = await dead_letters.wait_for(lambda letter: letter.reason == "key_mismatch")
        assert str(misaddressed.work_order_id) in found[0].value
    async with asyncio.timeout(20):
        while not await db.fetchval(
            "select count(*) from terminal_deliveries where work_order_id = $1", after.work_order_id
        ):
            await asyncio.sleep(0.05)
    assert (
        await db.fetchval(
            "select count(*) from terminal_deliveries where work_order_id = $1", order.work_order_id
        )
        == 1
    )
    assert not await db.fetchval(
        "select count(*) from terminal_deliveries where work_order_id = $1",
        misaddressed.work_order_id,
    )


async def test_an_order_not_acknowledged_in_time_gets_a_failed_receipt_and_still_arrives_later(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db, alarm_timeline
) -> None:
    unit_id = unit()
    # withdrawn before its window ran out: no answer is owed, so no failed receipt
    withdrawn = work_order(unit_id, accept_within_seconds=1)
    withdraw = work_order(
        unit_id,
        action=WorkOrderAction.withdraw,
        work_order_id=withdrawn.work_order_id,
        accept_within_seconds=1,
    )
    order = work_order(unit_id, alarm_id=await record_alarm(db), accept_within_seconds=1)
    async with TopicReader(topics, NOTIFY_RECEIPTS.name, DeliveryReceipt) as receipts:
        for message in (withdrawn, withdraw, order):  # one key: stored in this order
            await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, message)
        found = await receipts.wait_for(
            lambda r: r.ref_id == order.work_order_id and r.status is ReceiptStatus.failed
        )
        assert len(found) == 1
        assert found[0].recipient == unit_id
        assert found[0].detail == "terminal did not acknowledge within 1 s"
    # the withdrawn one was overdue first, so the same sweep would have failed it
    failed = await db.fetch(
        "select work_order_id from terminal_deliveries "
        "where unit_id = $1 and failed_at is not null",
        unit_id,
    )
    assert [row["work_order_id"] for row in failed] == [order.work_order_id]
    timeline = await timeline_rows(
        db,
        "select kind, detail->>'cause' as cause from alarm_timeline where work_order_id = $1",
        order.work_order_id,
        at_least=1,
    )
    assert [(row["kind"], row["cause"]) for row in timeline] == [
        ("terminal_failed", "terminal did not acknowledge within 1 s")
    ]

    terminal = await Terminal(notify.ws, unit_id).connect()
    try:  # still kept: the late terminal gets it, and its ack is a delivered receipt
        await terminal.wait_for(lambda: str(order.work_order_id) in terminal.assigned())
        async with asyncio.timeout(20):
            while not await db.fetchval(
                "select delivered_at is not null from terminal_deliveries where work_order_id = $1",
                order.work_order_id,
            ):
                await asyncio.sleep(0.05)
    finally:
        await terminal.close()


async def test_a_batch_that_fails_after_its_push_is_stored_and_sent_again_and_acked_once(
    notify: RunningNotify,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deliveries go to the socket before their COMMIT (decision 0042): when that transaction
    then fails, the work order is stored again under a new delivery id and sent again; the
    terminal drops the repeat, and only the stored delivery ends up acknowledged."""
    unit_id = unit()
    order = work_order(unit_id)
    wo = str(order.work_order_id)
    announce = deliveries.announce
    failed_ids: list[int] = []

    async def fail_once_after_the_push(
        connection: asyncpg.Connection, stored: list[deliveries.Delivery], replica: str
    ) -> None:
        if not failed_ids and any(d.work_order_id == order.work_order_id for d in stored):
            failed_ids.extend(d.delivery_id for d in stored)
            raise OSError("injected: the connection broke before the COMMIT")
        await announce(connection, stored, replica)

    monkeypatch.setattr(deliveries, "announce", fail_once_after_the_push)
    terminal = await Terminal(notify.ws, unit_id).connect()
    try:
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)

        def frames_for_order() -> list[int]:
            return [
                f["delivery_id"]
                for f in terminal.frames
                if f["type"] == "work_order" and f["work_order_id"] == wo
            ]

        await terminal.wait_for(lambda: len(frames_for_order()) == 2)
        first, second = frames_for_order()
        assert failed_ids == [first]  # sent before its transaction failed
        assert terminal.assigned() == {wo}  # the terminal holds it once
        async with asyncio.timeout(20):
            while not await db.fetchval(
                "select delivered_at is not null from terminal_deliveries where work_order_id = $1",
                order.work_order_id,
            ):
                await asyncio.sleep(0.05)
        rows = await db.fetch(
            "select seq from terminal_deliveries where work_order_id = $1", order.work_order_id
        )
        assert [row["seq"] for row in rows] == [second]
    finally:
        await terminal.close()
