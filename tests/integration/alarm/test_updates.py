"""A 110 integration's updates and cancels of the alarms it reported (issue 19): over HTTP and
`alarms.intake` alike, on the alarm's record and timeline, on `alarms.accepted` for dispatch
(with the amendment) and on `alarms.status` for the status callbacks; a repeated update id is
the same update; another integration cannot touch them."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kj_alarm.bootstrap import Alarm, build
from kj_alarm.settings import DEV_INTEGRATIONS
from kj_runtime.credentials import token_hash
from kj_runtime.host import Service, hosted
from kj_runtime.kafka import make_producer
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas import codec
from kj_schemas.alarms import AlarmAccepted, AlarmStatusChanged

from .conftest import AUTH, read_topic, report, settings_for
from .test_kafka_paths import wait_for

HS_TOKEN = "hs110-token-for-update-tests"
HS = {"Authorization": f"Bearer {HS_TOKEN}"}
# the sample city's centre (central city) and a place 2.3 km away, still in the city
CENTRE = {"lat": 27.2389, "lon": 111.4677}
ACROSS_TOWN = {"lat": 27.2589, "lon": 111.4777}


@pytest.fixture(autouse=True)
def running(alarm_service: Service[Alarm]) -> Service[Alarm]:
    return alarm_service  # its consumers (alarms.intake) run for these tests


@pytest.fixture(scope="module")
async def other(
    database: PostgresSettings, topics: KafkaSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """The same service answering a second integration too (its consumers left to the
    package's service)."""
    settings = settings_for(
        database,
        topics,
        integrations={**DEV_INTEGRATIONS, "hs110": token_hash(HS_TOKEN)},
        consume_intake=False,
        consume_workorders=False,
        consume_receipts=False,
    )
    service = await build(settings)
    async with hosted(service, http=False):
        assert service.app is not None
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://alarm") as client:
            yield client


@pytest.fixture
async def producer(topics: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(topics)
    await producer.start()
    yield producer
    await producer.stop()


async def new_alarm(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = report(location=CENTRE, description="两人打架", **overrides)
    answer = await client.post("/v1/alarms", json=body, headers=AUTH)
    assert answer.status_code == 201, answer.text
    return {**body, **answer.json()}


def uid() -> str:
    return f"U-{uuid.uuid4().hex[:10]}"


async def test_an_update_moves_the_scene_and_tells_dispatch_and_the_integration(
    client: httpx.AsyncClient, topics: KafkaSettings
) -> None:
    alarm = await new_alarm(client)
    update_id = uid()
    answer = await client.post(
        f"/v1/alarms/{alarm['alarm_id']}/updates",
        json={
            "update_id": update_id,
            "location": ACROSS_TOWN,
            "address": "东头",
            "description": "其中一人持刀",
            "priority": 1,
            "more_callers": 2,
        },
        headers=AUTH,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["replan"] is True and answer.json()["repeat"] is False

    view = (await client.get(f"/v1/alarms/{alarm['alarm_id']}", headers=AUTH)).json()
    assert view["location"] == ACROSS_TOWN
    assert (view["priority"], view["callers"], view["address"]) == (1, 3, "东头")
    assert view["description"] == "两人打架\n[补充] 其中一人持刀"
    (entry,) = [e for e in view["timeline"] if e["kind"] == "updated"]
    assert entry["detail"]["update_id"] == update_id
    assert 2000 < entry["detail"]["changes"]["location"]["moved_m"] < 2600

    def amended(records: list[Any]) -> bool:
        return any(update_id.encode() in r.value for r in records)

    accepted = [
        codec.decode(AlarmAccepted, r.value)
        for r in await read_topic(topics, "alarms.accepted", until=amended)
        if alarm["alarm_id"].encode() in r.value
    ]
    assert [a.amendment is not None for a in accepted] == [False, True]
    last = accepted[-1]
    assert last.amendment is not None and last.amendment.replan
    assert (last.location.lat, last.location.lon, last.priority) == (27.2589, 111.4777, 1)
    steps = [
        codec.decode(AlarmStatusChanged, r.value)
        for r in await read_topic(topics, "alarms.status", until=amended)
        if alarm["alarm_id"].encode() in r.value
    ]
    assert [(s.status, s.reason, s.update_id) for s in steps][-1] == (
        "accepted",
        "updated",
        update_id,
    )


async def test_a_repeated_update_id_is_the_same_update(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    alarm = await new_alarm(client)
    body = {"update_id": uid(), "more_callers": 1, "description": "又一人报警"}
    url = f"/v1/alarms/{alarm['alarm_id']}/updates"
    first = await client.post(url, json=body, headers=AUTH)
    again = await client.post(url, json=body, headers=AUTH)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {**first.json(), "repeat": True}
    view = (await client.get(f"/v1/alarms/{alarm['alarm_id']}", headers=AUTH)).json()
    assert view["callers"] == 2  # counted once
    assert [e["kind"] for e in view["timeline"]].count("updated") == 1
    other_body = await client.post(url, json={**body, "more_callers": 5}, headers=AUTH)
    assert other_body.status_code == 409
    assert "different body" in other_body.json()["detail"]


async def test_a_cancel_closes_the_alarm_with_its_reason_and_refuses_later_updates(
    client: httpx.AsyncClient, topics: KafkaSettings
) -> None:
    alarm = await new_alarm(client)
    cancel_id = uid()
    url = f"/v1/alarms/{alarm['alarm_id']}"
    answer = await client.post(
        f"{url}/cancel",
        json={"update_id": cancel_id, "reason": "false_alarm", "note": "报警人承认谎报"},
        headers=AUTH,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "closed"
    view = (await client.get(url, headers=AUTH)).json()
    assert view["status"] == "closed"
    (entry,) = [e for e in view["timeline"] if e["kind"] == "cancelled"]
    assert entry["detail"] == {
        "update_id": cancel_id,
        "reason": "false_alarm",
        "note": "报警人承认谎报",
    }
    late = await client.post(
        f"{url}/updates", json={"update_id": uid(), "priority": 1}, headers=AUTH
    )
    assert late.status_code == 409 and "alarm_not_open" in late.json()["detail"]

    def cancelled(records: list[Any]) -> bool:
        return any(cancel_id.encode() in r.value for r in records)

    records = await read_topic(topics, "alarms.accepted", until=cancelled)
    (told,) = [
        codec.decode(AlarmAccepted, r.value) for r in records if cancel_id.encode() in r.value
    ]
    assert told.amendment is not None and told.amendment.cancelled == "false_alarm"
    steps = await read_topic(topics, "alarms.status", until=cancelled)
    (closed,) = [
        codec.decode(AlarmStatusChanged, r.value) for r in steps if cancel_id.encode() in r.value
    ]
    assert (closed.status, closed.reason) == ("closed", "false_alarm")


async def test_another_integration_cannot_update_or_cancel_an_alarm(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    alarm = await new_alarm(client)
    url = f"/v1/alarms/{alarm['alarm_id']}"
    update = await other.post(
        f"{url}/updates", json={"update_id": uid(), "location": ACROSS_TOWN}, headers=HS
    )
    cancel = await other.post(
        f"{url}/cancel", json={"update_id": uid(), "reason": "false_alarm"}, headers=HS
    )
    assert (update.status_code, cancel.status_code) == (404, 404)
    # the answer to an alarm that does not exist (decision 0072), as problem+json (0125)
    assert update.json() == cancel.json()
    assert update.json()["detail"] == "no such alarm"
    assert update.headers["content-type"] == "application/problem+json"
    view = (await client.get(url, headers=AUTH)).json()
    assert view["status"] == "accepted" and view["location"] == CENTRE
    assert not [e for e in view["timeline"] if e["kind"] in ("updated", "cancelled")]
    unauthenticated = await client.post(
        f"{url}/cancel", json={"update_id": uid(), "reason": "duplicate"}
    )
    assert unauthenticated.status_code == 401


async def test_updates_and_cancels_on_the_intake_topic_work_like_http(
    client: httpx.AsyncClient, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    body = report(location=CENTRE)
    alarm_id = (await client.post("/v1/alarms", json=body, headers=AUTH)).json()["alarm_id"]
    ref = {"source": "sy110", "source_alarm_id": body["source_alarm_id"]}
    update = {**ref, "update_id": uid(), "priority": 1}
    cancel = {**ref, "update_id": uid(), "reason": "resolved_by_phone"}
    unknown = {"source": "sy110", "source_alarm_id": "NO-SUCH-1", "update_id": uid(), "priority": 1}
    for record in (update, update, unknown, cancel):
        await producer.send_and_wait(
            topics.topic("alarms.intake"), codec.encode_json(record), key=b"k"
        )

    async def closed() -> Any:
        view = (await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)).json()
        return view if view["status"] == "closed" else None

    view = await wait_for(closed)
    assert view["priority"] == 1
    kinds = [e["kind"] for e in view["timeline"]]
    assert kinds.count("updated") == 1 and kinds.count("cancelled") == 1

    def refused(records: list[Any]) -> bool:
        return any(b"NO-SUCH-1" in r.value for r in records)

    letters = await read_topic(topics, "deadletters", until=refused)
    (letter,) = [r for r in letters if unknown["update_id"].encode() in r.value]
    assert b"unknown_alarm" in letter.value
