"""Every answer of POST /v1/alarms and the read side, through the real database and broker."""

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from kj_alarm.bootstrap import Alarm
from kj_runtime.host import Service
from kj_runtime.settings import KafkaSettings
from kj_schemas import codec
from kj_schemas.alarms import AlarmAccepted, AlarmDiverted, AlarmMerged, AlarmStatusChanged

from .conftest import AUTH, read_topic, recent, report

SCENE = {"lat": 27.2389, "lon": 111.4677}  # 西湖桥: a key location


async def post(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    return await client.post("/v1/alarms", json=body, headers=kwargs.pop("headers", AUTH), **kwargs)


async def test_new_alarm_is_accepted_with_its_tier_and_published(
    client: httpx.AsyncClient, db: asyncpg.Connection, topics: KafkaSettings
) -> None:
    body = report(location=SCENE, category="suicide_attempt", priority=1)
    answer = await post(client, body)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["status"] == "accepted"
    assert (result["tier"], result["target_seconds"]) == ("key_location", 60)
    assert "merged_into" not in result
    row = await db.fetchrow(
        "select * from alarms where alarm_id = $1", uuid.UUID(result["alarm_id"])
    )
    assert row["source_alarm_id"] == body["source_alarm_id"]

    def found(records: list[Any]) -> bool:
        return any(r.value and result["alarm_id"].encode() in r.value for r in records)

    records = await read_topic(topics, "alarms.accepted", until=found)
    message = next(
        codec.decode(AlarmAccepted, r.value)
        for r in records
        if result["alarm_id"].encode() in r.value
    )
    assert message.tier == "key_location" and message.region == "hunan-shaoyang"
    assert (
        next(r for r in records if result["alarm_id"].encode() in r.value).key == b"hunan-shaoyang"
    )


async def test_outside_every_zone_is_the_county_tier(client: httpx.AsyncClient) -> None:
    answer = await post(client, report(location={"lat": 26.5, "lon": 110.5}))
    assert answer.status_code == 201
    assert (answer.json()["tier"], answer.json()["target_seconds"]) == ("county", 600)


async def test_repeat_with_the_same_body_answers_200_with_the_same_result_and_creates_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = report()
    first = await post(client, body)
    # the same JSON with another key order and spacing is the same body
    raw = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = await client.post(
        "/v1/alarms", content=raw, headers={**AUTH, "content-type": "application/json"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    count = await db.fetchval(
        "select count(*) from alarms where source_alarm_id = $1", body["source_alarm_id"]
    )
    assert count == 1


async def test_same_id_with_a_different_body_is_a_conflict(client: httpx.AsyncClient) -> None:
    body = report()
    assert (await post(client, body)).status_code == 201
    answer = await post(client, {**body, "priority": 1})
    assert answer.status_code == 409
    assert body["source_alarm_id"] in answer.json()["detail"]


async def test_invalid_input_names_each_bad_field_and_never_echoes_the_phone(
    client: httpx.AsyncClient,
) -> None:
    body = report(priority=7, location={"lat": 95.0, "lon": 111.0}, caller_phone="13807391234x")
    answer = await post(client, body)
    assert answer.status_code == 422
    places = {tuple(e["loc"]) for e in answer.json()["errors"]}
    assert places == {("body", "priority"), ("body", "location", "lat"), ("body", "caller_phone")}
    assert "13807391234" not in answer.text


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"source": "sy110"}', b"null", b'{"a": 1e999}', b"N\xff2\xfe\x1c"],
)
async def test_garbage_is_422_not_500(client: httpx.AsyncClient, content: bytes) -> None:
    headers = {**AUTH, "content-type": "application/json"}
    answer = await client.post("/v1/alarms", content=content, headers=headers)
    assert answer.status_code == 422


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic c3k6eA=="}]
)
async def test_no_or_bad_credentials_are_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await post(client, report(), headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_a_source_other_than_the_token_s_integration_is_refused(
    client: httpx.AsyncClient,
) -> None:
    assert (await post(client, report(source="other110"))).status_code == 403


async def test_body_over_the_limit_is_413_declared_or_streamed(client: httpx.AsyncClient) -> None:
    huge = report(description="x" * 20_000)
    assert (await post(client, huge)).status_code == 413

    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 1000

    streamed = await client.post("/v1/alarms", content=chunks(), headers=AUTH)
    assert streamed.status_code == 413


async def test_duplicate_call_is_merged_counted_and_its_merge_can_be_undone(
    client: httpx.AsyncClient, db: asyncpg.Connection, topics: KafkaSettings
) -> None:
    place = {"lat": 27.3101, "lon": 111.5101}
    first = (await post(client, report(location=place, category="fight"))).json()
    nearby = {"lat": 27.3102, "lon": 111.5102}  # ~15 m away, minutes later, a compatible kind
    body = report(location=nearby, category="violent_crime")
    first_at = await db.fetchval(
        "select reported_at from alarms where alarm_id = $1", uuid.UUID(first["alarm_id"])
    )
    body["reported_at"] = first_at.isoformat().replace("+00:00", "Z")
    second = await post(client, body)
    assert second.status_code == 201
    merged = second.json()
    assert merged["status"] == "merged" and merged["merged_into"] == first["alarm_id"]
    callers = await db.fetchval(
        "select callers from alarms where alarm_id = $1", uuid.UUID(first["alarm_id"])
    )
    assert callers == 2

    def merge_seen(records: list[Any]) -> bool:
        return any(merged["alarm_id"].encode() in r.value for r in records)

    records = await read_topic(topics, "alarms.merged", until=merge_seen)
    message = next(
        codec.decode(AlarmMerged, r.value)
        for r in records
        if merged["alarm_id"].encode() in r.value
    )
    assert message.callers == 2

    undone = await client.post(f"/v1/alarms/{merged['alarm_id']}/unmerge", headers=AUTH)
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "accepted" and "merged_into" not in undone.json()
    records = await read_topic(topics, "alarms.accepted", until=merge_seen)
    assert any(merged["alarm_id"].encode() in r.value for r in records)
    callers = await db.fetchval(
        "select callers from alarms where alarm_id = $1", uuid.UUID(first["alarm_id"])
    )
    assert callers == 1
    again = await client.post(f"/v1/alarms/{merged['alarm_id']}/unmerge", headers=AUTH)
    assert again.status_code == 409
    missing = await client.post(f"/v1/alarms/{uuid.uuid4()}/unmerge", headers=AUTH)
    assert missing.status_code == 404


async def test_far_away_or_incompatible_calls_are_not_merged(client: httpx.AsyncClient) -> None:
    place = {"lat": 27.3201, "lon": 111.5201}
    at = recent(days=270, hours=2)
    await post(client, report(location=place, category="fire", reported_at=at))
    other_kind = await post(client, report(location=place, category="theft", reported_at=at))
    far = await post(
        client, report(location={"lat": 27.3301, "lon": 111.5201}, category="fire", reported_at=at)
    )
    later = await post(
        client, report(location=place, category="fire", reported_at=recent(days=270))
    )
    assert [a.json()["status"] for a in (other_kind, far, later)] == ["accepted"] * 3


async def test_non_police_call_is_diverted_to_12345_and_not_dispatched(
    client: httpx.AsyncClient, topics: KafkaSettings
) -> None:
    answer = await post(client, report(category="noise", priority=4))
    assert answer.status_code == 201
    alarm_id = answer.json()["alarm_id"]
    assert answer.json()["status"] == "diverted"

    def seen(records: list[Any]) -> bool:
        return any(alarm_id.encode() in r.value for r in records)

    records = await read_topic(topics, "alarms.diverted", until=seen)
    diverted = next(
        codec.decode(AlarmDiverted, r.value) for r in records if alarm_id.encode() in r.value
    )
    assert diverted.hotline == "12345"
    status = await read_topic(topics, "alarms.status", until=seen)
    assert any(
        codec.decode(AlarmStatusChanged, r.value).status == "diverted"
        for r in status
        if alarm_id.encode() in r.value
    )


async def test_the_board_pages_open_alarms_oldest_first(client: httpx.AsyncClient) -> None:
    created = [(await post(client, report())).json()["alarm_id"] for _ in range(5)]
    diverted = (await post(client, report(category="utilities"))).json()["alarm_id"]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "open", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/v1/alarms", params=params, headers=AUTH)
        assert page.status_code == 200, page.text
        seen += [item["alarm_id"] for item in page.json()["items"]]
        cursor = page.json().get("next_cursor")
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert set(created) <= set(seen) and diverted not in seen
    assert seen.index(created[0]) < seen.index(created[-1])
    bad = await client.get("/v1/alarms", params={"cursor": "garbage!"}, headers=AUTH)
    assert bad.status_code == 422
    assert (await client.get("/v1/alarms")).status_code == 401


async def test_get_alarm_shows_its_timeline(client: httpx.AsyncClient) -> None:
    alarm_id = (await post(client, report())).json()["alarm_id"]
    answer = await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)
    assert answer.status_code == 200
    view = answer.json()
    assert [e["kind"] for e in view["timeline"]] == ["received", "classified"]
    assert view["response_seconds"] is None and view["target_met"] is None
    assert (await client.get(f"/v1/alarms/{uuid.uuid4()}", headers=AUTH)).status_code == 404
    assert (await client.get("/v1/alarms/not-a-uuid", headers=AUTH)).status_code == 422


async def test_postgres_down_is_503_with_retry_after_never_a_false_201(
    alarm_service: Service[Alarm],
) -> None:
    from kj_alarm.entrypoints.http import create_app
    from kj_alarm.service_layer.deps import Deps
    from kj_alarm.service_layer.intake import IntakeWriter
    from kj_runtime.db import create_pool

    dead = alarm_service.settings.postgres.model_copy(update={"port": 1})  # nothing listens
    pool = await create_pool(dead, min_size=0, timeout=2)
    try:
        deps = Deps(
            pool=pool,
            classifier=alarm_service.core.deps.classifier,
            region="hunan-shaoyang",
            outbox=alarm_service.core.deps.outbox,
        )
        writer = IntakeWriter(deps)
        app = create_app(alarm_service.settings, deps, writer)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://a"
        ) as c:
            answer = await post(c, report())
        assert answer.status_code == 503
        assert int(answer.headers["retry-after"]) > 0
    finally:
        await writer.close()
        await pool.close()


async def test_concurrent_callers_about_one_incident_make_one_alarm_and_count_every_caller(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Calls arriving together share one transaction (group commit) or queue on the merge
    locks; either way exactly one is dispatched and the others are counted on it."""
    at = recent(days=275, minutes=49)
    bodies = [
        report(
            location={"lat": 27.4101 + i * 0.0001, "lon": 111.6101},
            category="fight",
            reported_at=at,
        )
        for i in range(6)
    ]
    answers = await asyncio.gather(*(post(client, body) for body in bodies))
    assert [a.status_code for a in answers] == [201] * 6
    results = [a.json() for a in answers]
    accepted = [r for r in results if r["status"] == "accepted"]
    assert len(accepted) == 1, results
    incident = accepted[0]["alarm_id"]
    assert all(r["merged_into"] == incident for r in results if r["status"] == "merged")
    callers = await db.fetchval(
        "select callers from alarms where alarm_id = $1", uuid.UUID(incident)
    )
    assert callers == 6
    counts = await db.fetch(
        "select (detail->>'callers')::int as n from alarm_timeline "
        "where alarm_id = $1 and kind = 'caller_added' order by n",
        uuid.UUID(incident),
    )
    assert [r["n"] for r in counts] == [2, 3, 4, 5, 6]


async def test_the_same_report_sent_twice_at_once_is_one_alarm_and_a_changed_one_conflicts(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = report()
    changed = {**body, "priority": 1}
    first, second, third = await asyncio.gather(
        post(client, body), post(client, body), post(client, changed)
    )
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json() == second.json()
    assert third.status_code == 409
    rows = await db.fetchval(
        "select count(*) from alarms where source_alarm_id = $1", body["source_alarm_id"]
    )
    assert rows == 1


async def test_every_intake_request_is_timed_for_the_dashboard(
    client: httpx.AsyncClient,
) -> None:
    """The intake panel of the service-health dashboard (rate and p99) reads
    `kj_alarm_request_seconds`: the answers of the lean path and of the route both count."""
    from prometheus_client import REGISTRY

    def count(status: str) -> float:
        labels = {"method": "POST", "route": "/v1/alarms", "status": status}
        return REGISTRY.get_sample_value("kj_alarm_request_seconds_count", labels) or 0.0

    before = {status: count(status) for status in ("201", "422")}
    assert (await post(client, report())).status_code == 201
    assert (await post(client, report(priority=9))).status_code == 422
    assert {status: count(status) - before[status] for status in before} == {"201": 1, "422": 1}


async def test_the_relay_counts_each_record_it_publishes_for_the_dashboard(
    client: httpx.AsyncClient, topics: KafkaSettings
) -> None:
    """The relay panel reads `kj_outbox_published_total` by stream and topic: a new alarm's two
    records (accepted, status) each count once they are published."""
    from prometheus_client import REGISTRY

    from kj_schemas.topics import ALARMS_ACCEPTED, ALARMS_STATUS

    names = [topics.topic(ALARMS_ACCEPTED.name), topics.topic(ALARMS_STATUS.name)]

    def published() -> list[float]:
        return [
            REGISTRY.get_sample_value(
                "kj_outbox_published_total", {"stream": "alarm", "topic": name}
            )
            or 0.0
            for name in names
        ]

    before = published()
    assert (await post(client, report())).status_code == 201
    async with asyncio.timeout(15):
        while not all(now >= was + 1 for now, was in zip(published(), before, strict=True)):
            await asyncio.sleep(0.05)
