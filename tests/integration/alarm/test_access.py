"""An integration reads and acts only on its own alarms (issue 14: any integration's token read
every alarm and could unmerge one, which dispatches a unit). Another's alarm is answered as if it
did not exist, so alarm ids say nothing. The phone number of the caller stays with the alarm
service: `alarms.accepted` carries none."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from kj_alarm.bootstrap import build
from kj_alarm.settings import DEV_INTEGRATIONS, DEV_TOKEN
from kj_runtime.credentials import token_hash
from kj_runtime.host import hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings

from .conftest import read_topic, recent, report, settings_for

SY = {"Authorization": f"Bearer {DEV_TOKEN}"}
HS_TOKEN = "hs110-token-for-tests"
HS = {"Authorization": f"Bearer {HS_TOKEN}"}


@pytest.fixture(scope="module")
async def two_integrations(
    database: PostgresSettings, topics: KafkaSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """The service with two 110 integrations (its consumers left to the package's service)."""
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


async def post(client: httpx.AsyncClient, body: dict[str, Any], auth: dict[str, str]) -> Any:
    answer = await client.post("/v1/alarms", json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def board(client: httpx.AsyncClient, auth: dict[str, str], status: str) -> set[str]:
    """Every alarm id on the integration's board for `status`, page by page."""
    ids: set[str] = set()
    cursor: str | None = None
    for _ in range(1000):
        params = {"status": status, "limit": "500", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/alarms", params=params, headers=auth)).json()
        ids |= {item["alarm_id"] for item in page["items"]}
        assert all(item["source"] == ("hs110" if auth is HS else "sy110") for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the board never ended")


async def test_another_integrations_alarm_is_not_found_on_any_route(
    two_integrations: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    client = two_integrations
    place, at = {"lat": 27.5101, "lon": 111.7101}, recent(days=280)
    first = await post(client, report(location=place, category="fight", reported_at=at), SY)
    repeat = await post(
        client,
        report(location={"lat": 27.5102, "lon": 111.7102}, category="fight", reported_at=at),
        SY,
    )
    assert repeat["status"] == "merged"
    mine = await post(client, report(source="hs110", location={"lat": 27.6, "lon": 111.8}), HS)

    for alarm_id in (first["alarm_id"], repeat["alarm_id"]):
        theirs = await client.get(f"/v1/alarms/{alarm_id}", headers=HS)
        unknown = await client.get(f"/v1/alarms/{uuid.uuid4()}", headers=HS)
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == unknown.json()  # nothing tells another's alarm from none
        assert (await client.get(f"/v1/alarms/{alarm_id}", headers=SY)).status_code == 200

    # unmerging another's alarm would dispatch a unit to it: not found, and nothing changes
    refused = await client.post(f"/v1/alarms/{repeat['alarm_id']}/unmerge", headers=HS)
    assert refused.status_code == 404
    status = await db.fetchval(
        "select status from alarms where alarm_id = $1", uuid.UUID(repeat["alarm_id"])
    )
    assert status == "merged"

    for status in ("open", "accepted", "merged"):
        theirs_board = await board(client, HS, status)
        assert not theirs_board & {first["alarm_id"], repeat["alarm_id"]}, status
    assert mine["alarm_id"] in await board(client, HS, "open")
    assert first["alarm_id"] in await board(client, SY, "open")
    assert repeat["alarm_id"] in await board(client, SY, "merged")

    undone = await client.post(f"/v1/alarms/{repeat['alarm_id']}/unmerge", headers=SY)
    assert undone.status_code == 200, undone.text


async def test_a_report_for_another_integration_is_refused(
    two_integrations: httpx.AsyncClient,
) -> None:
    answer = await two_integrations.post("/v1/alarms", json=report(source="sy110"), headers=HS)
    assert answer.status_code == 403


async def test_alarms_accepted_carries_no_callers_phone_number(
    client: httpx.AsyncClient, topics: KafkaSettings
) -> None:
    phone = "13912345678"
    answer = await client.post("/v1/alarms", json=report(caller_phone=phone), headers=SY)
    assert answer.status_code == 201
    alarm_id = answer.json()["alarm_id"].encode()

    def found(records: list[Any]) -> bool:
        return any(r.value and alarm_id in r.value for r in records)

    records = await read_topic(topics, "alarms.accepted", until=found)
    (accepted,) = [r.value for r in records if r.value and alarm_id in r.value]
    assert phone.encode() not in accepted and b"caller_phone" not in accepted
