"""The 12345 hand-off (issue 19): a non-police call reported to the alarm service reaches a real
HTTP server standing in for the 12345 hotline's system, signed like a status callback, and the
hotline's acknowledgement is on the alarm's timeline; a hotline that keeps failing gets retries,
then a dead letter with the cause, and the failure is on the timeline too."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
from standardwebhooks import Webhook

from kj_alarm.bootstrap import build as build_alarm
from kj_alarm.settings import DEV_TOKEN, AlarmSettings
from kj_notify.bootstrap import run
from kj_runtime.host import hosted
from kj_runtime.integration_store import new_signing_secret
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.alarms import AlarmDiverted
from kj_schemas.codec import decode
from kj_schemas.deadletter import DeadLetter
from kj_schemas.topics import DEADLETTERS

from .callback_receiver import Receiver, running_receiver
from .conftest import RunningNotify, TopicReader, notify_settings, wait_ready

SECRET = new_signing_secret()  # `whsec_` and base64, as the standard's receivers expect
AUTH = {"Authorization": f"Bearer {DEV_TOKEN}"}


@asynccontextmanager
async def stack(
    topics: KafkaSettings, database: PostgresSettings, hotline_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Alarm intake (its HTTP API in-process, its relay and its receipts consumer) and notify
    with the hotline configured."""
    settings = notify_settings(
        topics, database, hotline_url=hotline_url, hotline_signing_secret=SECRET
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    alarm = await build_alarm(
        AlarmSettings(
            kafka=topics, postgres=database, consume_intake=False, consume_workorders=False
        )
    )
    try:
        await wait_ready(RunningNotify(settings).http)
        async with hosted(alarm, http=False):
            assert alarm.app is not None
            transport = httpx.ASGITransport(app=alarm.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://alarm") as client:
                yield client
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await task


async def divert(client: httpx.AsyncClient) -> str:
    at = datetime.now(UTC) - timedelta(minutes=2)
    answer = await client.post(
        "/v1/alarms",
        json={
            "source": "sy110",
            "source_alarm_id": f"N-{uuid4().hex[:12]}",
            "reported_at": at.isoformat(),
            "caller_phone": "13807391234",
            "location": {"lat": 27.2389, "lon": 111.4677},
            "category": "noise",
            "priority": 4,
            "description": "楼上装修噪音",
        },
        headers=AUTH,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "diverted"
    return str(answer.json()["alarm_id"])


async def timeline_entry(client: httpx.AsyncClient, alarm_id: str, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            view = (await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)).json()
            found = [e for e in view["timeline"] if e["kind"] == kind]
            if found:
                return dict(found[0])
            await asyncio.sleep(0.1)


def hand_offs(receiver: Receiver, path: str, alarm_id: str) -> list[Any]:
    return [r for r in receiver.at(path) if alarm_id.encode() in r.body]


async def test_a_diverted_call_reaches_the_hotline_signed_and_its_ticket_is_on_the_timeline(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    async with running_receiver() as receiver:
        receiver.answer = b'{"ticket_id": "12345-20261201-0042"}'
        async with stack(topics, database, receiver.url("/good/hotline")) as client:
            alarm_id = await divert(client)
            await receiver.wait_for(lambda: hand_offs(receiver, "/good/hotline", alarm_id))
            (posted,) = hand_offs(receiver, "/good/hotline", alarm_id)
            Webhook(SECRET).verify(posted.body, posted.headers)  # raises when it does not hold
            call = decode(AlarmDiverted, posted.body)
            # the hotline calls the citizen back: the number and the story go with the call
            assert (call.caller_phone, call.description, call.hotline) == (
                "13807391234",
                "楼上装修噪音",
                "12345",
            )
            entry = await timeline_entry(client, alarm_id, "hotline_acknowledged")
            assert entry["detail"] == {"ticket_id": "12345-20261201-0042"}


async def test_a_hotline_that_keeps_failing_gets_retries_then_a_dead_letter_with_the_cause(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    async with (
        running_receiver() as receiver,
        TopicReader(topics, DEADLETTERS.name, DeadLetter) as dead_letters,
    ):
        receiver.flaky_failures = 1_000_000  # answers 500, always
        async with stack(topics, database, receiver.url("/flaky/hotline")) as client:
            alarm_id = await divert(client)
            found = await dead_letters.wait_for(
                lambda letter: letter.reason == "hotline_failed" and alarm_id in letter.value
            )
            assert "HTTP 500" in found[0].detail and "12345" in found[0].detail
            assert len(hand_offs(receiver, "/flaky/hotline", alarm_id)) >= 2  # retried
            entry = await timeline_entry(client, alarm_id, "hotline_failed")
            assert entry["detail"] == {"cause": "HTTP 500"}
