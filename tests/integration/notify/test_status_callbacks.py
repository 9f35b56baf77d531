"""Status callbacks to 110 systems: signed as Standard Webhooks (a receiver verifies them with
the `standardwebhooks` library), retried until answered, dead-lettered when a receiver never
answers, and one dead receiver does not hold up the others."""

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer
from standardwebhooks import Webhook

from kj_runtime.integration_store import new_signing_secret
from kj_runtime.settings import KafkaSettings
from kj_schemas.alarms import AlarmStatusChanged
from kj_schemas.codec import decode
from kj_schemas.deadletter import DeadLetter
from kj_schemas.enums import AlarmStatus
from kj_schemas.topics import ALARMS_STATUS, DEADLETTERS

from .callback_receiver import running_receiver
from .conftest import INTEGRATION_TOKEN, RunningNotify, TopicReader, publish

SECRET = new_signing_secret()  # `whsec_` and base64, as `kj-admin integrations` makes


async def register(notify: RunningNotify, source: str, url: str) -> None:
    async with httpx.AsyncClient(base_url=notify.http) as client:
        response = await client.put(
            f"/v1/integrations/{source}/callback",
            json={"url": url, "signing_secret": SECRET},
            headers={"Authorization": f"Bearer {INTEGRATION_TOKEN}"},
        )
        assert response.status_code == 200, response.text


def change(source: str, status: AlarmStatus, alarm_id: uuid.UUID) -> AlarmStatusChanged:
    return AlarmStatusChanged(
        alarm_id=alarm_id,
        source=source,
        source_alarm_id=f"{source}-{alarm_id.hex[:8]}",
        status=status,
        at=datetime.now(UTC),
    )


def signed(received) -> bool:
    """The receiver's check, with the library: the signature, and the timestamp within 5
    minutes of now (the replay window); the message id is the change's, for deduplication."""
    Webhook(SECRET).verify(received.body, received.headers)  # raises when it does not hold
    change = decode(AlarmStatusChanged, received.body)
    return received.headers["webhook-id"] == str(change.message_id)


async def test_registering_needs_the_integrations_token(notify: RunningNotify) -> None:
    async with httpx.AsyncClient(base_url=notify.http) as client:
        response = await client.put(
            "/v1/integrations/sy110/callback",
            json={"url": "http://127.0.0.1:9/x", "signing_secret": SECRET},
            headers={"Authorization": "Bearer wrong"},
        )
        assert response.status_code == 401


async def test_every_status_change_arrives_signed_and_in_order(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    async with running_receiver() as receiver:
        await register(notify, "good110", receiver.url("/good/ordered"))
        alarm_id = uuid.uuid4()
        steps = [
            AlarmStatus.accepted,
            AlarmStatus.assigned,
            AlarmStatus.on_scene,
            AlarmStatus.closed,
        ]
        for status in steps:
            await publish(
                producer,
                topics,
                ALARMS_STATUS.name,
                str(alarm_id),
                change("good110", status, alarm_id),
            )
        await receiver.wait_for(lambda: len(receiver.at("/good/ordered")) == len(steps))
        got = [decode(AlarmStatusChanged, r.body) for r in receiver.at("/good/ordered")]
        assert [c.status for c in got] == steps
        assert all(signed(r) for r in receiver.at("/good/ordered"))


async def test_a_receiver_that_fails_three_times_gets_it_once_more_and_it_is_not_lost(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db
) -> None:
    async with running_receiver() as receiver:
        # a source of its own: the alarms other tests of this package report as sy110 (the
        # 12345 hand-off's) owe sy110 callbacks, delivered the moment it registers a URL
        await register(notify, "flaky110", receiver.url("/flaky/one"))
        sent = change("flaky110", AlarmStatus.assigned, uuid.uuid4())
        await publish(producer, topics, ALARMS_STATUS.name, str(sent.alarm_id), sent)
        await receiver.wait_for(lambda: any(r.answered == 200 for r in receiver.at("/flaky/one")))
        answers = [r.answered for r in receiver.at("/flaky/one")]
        assert answers == [500, 500, 500, 200]
        assert {
            decode(AlarmStatusChanged, r.body).message_id for r in receiver.at("/flaky/one")
        } == {sent.message_id}
        assert all(signed(r) for r in receiver.at("/flaky/one"))
        async with asyncio.timeout(20):  # the 200 is recorded once the sender has it
            while (
                row := await db.fetchrow(
                    "select status, attempts from callback_deliveries where message_id = $1",
                    sent.message_id,
                )
            )["status"] == "pending":
                await asyncio.sleep(0.05)
        assert (row["status"], row["attempts"]) == ("delivered", 4)


async def test_a_receiver_that_never_answers_ends_in_dead_letters_without_delaying_others(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, db
) -> None:
    async with (
        running_receiver() as receiver,
        TopicReader(topics, DEADLETTERS.name, DeadLetter) as dead_letters,
    ):
        await register(notify, "dead110", receiver.url("/dead/one"))
        await register(notify, "good110", receiver.url("/good/others"))
        stuck = change("dead110", AlarmStatus.accepted, uuid.uuid4())
        await publish(producer, topics, ALARMS_STATUS.name, str(stuck.alarm_id), stuck)
        others = [change("good110", AlarmStatus.accepted, uuid.uuid4()) for _ in range(5)]
        for message in others:
            await publish(producer, topics, ALARMS_STATUS.name, str(message.alarm_id), message)

        await receiver.wait_for(lambda: len(receiver.at("/good/others")) == len(others))
        # the others all arrived while the dead receiver's change was still being retried
        status = await db.fetchval(
            "select status from callback_deliveries where message_id = $1", stuck.message_id
        )
        assert status == "pending"

        found = await dead_letters.wait_for(
            lambda letter: (
                letter.reason == "callback_failed"
                and decode(AlarmStatusChanged, letter.value).message_id == stuck.message_id
            )
        )
        assert "no answer" in found[0].detail
        assert found[0].source_topic == topics.topic(ALARMS_STATUS.name)
        assert (
            await db.fetchval(
                "select status from callback_deliveries where message_id = $1", stuck.message_id
            )
            == "dead"
        )


async def test_the_registry_s_integration_gets_callbacks_signed_with_each_secret_in_force(
    notify: RunningNotify, producer: AIOKafkaProducer, topics: KafkaSettings, database
) -> None:
    """`kj-admin integrations add --callback-url` (decision 0126): one registry for alarm and
    notify; a `rotate --callback-url` gives a new secret, and the old one signs beside it for
    the overlap, so a receiver moves over without one unverifiable callback."""
    import contextlib
    import io
    import re

    from kj_runtime import admin_cli

    async def admin(*argv: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert await admin_cli.run(list(argv), database) == 0
        return out.getvalue()

    def secret_in(output: str) -> str:
        found = re.search(r"signing secret \(shown once\): (whsec_\S+)", output)
        assert found is not None, output
        return found[1]

    source = f"reg{uuid.uuid4().hex[:6]}"
    async with running_receiver() as receiver:
        url = receiver.url(f"/good/{source}")
        added = await admin("integrations", "add", source, "--callback-url", url)
        token = re.search(r"\(shown once\): (kj_\S+)", added)[1]  # type: ignore[index]
        first = secret_in(added)
        sent = change(source, AlarmStatus.accepted, uuid.uuid4())
        await publish(producer, topics, ALARMS_STATUS.name, str(sent.alarm_id), sent)
        await receiver.wait_for(lambda: len(receiver.at(f"/good/{source}")) == 1)
        one = receiver.at(f"/good/{source}")[0]
        Webhook(first).verify(one.body, one.headers)
        assert one.headers["webhook-id"] == str(sent.message_id)

        second = secret_in(
            await admin("integrations", "rotate", source, "--callback-url", url, "--overlap", "1h")
        )
        again = change(source, AlarmStatus.assigned, sent.alarm_id)
        await publish(producer, topics, ALARMS_STATUS.name, str(sent.alarm_id), again)
        await receiver.wait_for(lambda: len(receiver.at(f"/good/{source}")) == 2)
        two = receiver.at(f"/good/{source}")[1]
        Webhook(first).verify(two.body, two.headers)  # the receiver not yet moved over
        Webhook(second).verify(two.body, two.headers)  # and the one that has

        # the registry's token speaks for it at notify too (the same registry as alarm's)
        async with httpx.AsyncClient(base_url=notify.http) as client:
            answer = await client.put(
                f"/v1/integrations/{source}/callback",
                json={"url": url, "signing_secret": new_signing_secret()},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 200, answer.text
            other = await client.put(
                "/v1/integrations/sy110/callback",
                json={"url": url, "signing_secret": new_signing_secret()},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert other.status_code == 401
            assert other.headers["content-type"] == "application/problem+json"
