"""The console's API and socket with the real broker and database (issue 17): who may sign in and
act, what a browser is shown and how fast, and that every action is recorded with its person."""

import asyncio
import itertools
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from kj_console.service_layer.console import Console
from kj_runtime.host import Host
from kj_runtime.settings import KafkaSettings
from kj_schemas.alarms import AlarmAccepted, Amendment
from kj_schemas.base import GeoPoint
from kj_schemas.codec import decode
from kj_schemas.commands import CommandHandled, DispatchCommand
from kj_schemas.enums import CommandKind, CommandOutcome, UnitStatus
from kj_schemas.notify import BroadcastRequested

from ..dispatch.helpers import Peers, alarm, amended, east, now, unit_state
from .conftest import PASSWORD, Person

pytestmark = pytest.mark.usefixtures("console")


@pytest.fixture
async def peers(topics: KafkaSettings) -> Any:
    async with Peers(topics) as peers:
        yield peers


async def read_new(topics: KafkaSettings, topic: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        topics.topic(topic), bootstrap_servers=topics.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    return consumer


async def first_record(consumer: AIOKafkaConsumer, match: Callable[[bytes], bool]) -> bytes:
    async with asyncio.timeout(15):
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    if match(record.value):
                        return record.value


async def test_sign_in_gives_an_httponly_strict_cookie_and_wrong_passwords_lock_the_name(
    console: Host[Console], sign_in: Any, db: asyncpg.Connection
) -> None:
    import httpx

    base = f"http://127.0.0.1:{console.core.settings.http_port}"
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/api/me")).status_code == 401
        good = await client.post("/api/login", json={"username": "li_na", "password": PASSWORD})
        cookie = good.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert PASSWORD not in good.text
        me = (await client.get("/api/me")).json()
        assert me["user"] == "li_na" and me["role"] == "dispatcher" and me["may_act"]
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(3):
            bad = await client.post("/api/login", json={"username": "chen_jie", "password": "x"})
            assert bad.status_code == 401 and bad.json()["reason"] == "bad_credentials"
        locked = await client.post(
            "/api/login", json={"username": "chen_jie", "password": PASSWORD}
        )
        assert locked.status_code == 429 and locked.json()["reason"] == "locked"
    async with httpx.AsyncClient(base_url=base, cookies={"kj_console_session": "a.b"}) as client:
        assert (await client.get("/api/me")).status_code == 401  # a forged cookie
    stored = await db.fetchval("select password_hash from console_users where username = 'li_na'")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_acting_needs_the_csrf_token_and_the_same_origin(sign_in: Any) -> None:
    person: Person = await sign_in("zhang_wei")
    body = {"kind": "hold_alarm", "alarm_id": "0b6f3c1e-8a54-4f7e-9a51-2f6d3c9b7a10"}
    no_token = await person.client.post("/api/commands", json=body)
    assert no_token.status_code == 403 and no_token.json()["reason"] == "csrf"
    elsewhere = await person.act(
        "POST", "/api/commands", json=body, headers={"Origin": "http://evil.example"}
    )
    assert elsewhere.status_code == 403
    bad = await person.act("POST", "/api/commands", json={"kind": "assign_unit"})
    assert bad.status_code == 422


async def test_a_viewer_cannot_act_and_a_dispatchers_command_goes_to_dispatch_with_her_name(
    sign_in: Any, topics: KafkaSettings, db: asyncpg.Connection
) -> None:
    viewer: Person = await sign_in("wang_fang")
    body = {"kind": "set_unit_duty", "unit_id": "SY-P05-M1", "duty": "off_duty"}
    refused = await viewer.act("POST", "/api/commands", json=body)
    assert refused.status_code == 403 and refused.json()["reason"] == "not_allowed"
    broadcast = await viewer.act(
        "POST",
        "/api/broadcasts",
        json={"lat": 27.24, "lon": 111.47, "radius_m": 500, "audience": ["taxi"], "text": "x"},
    )
    assert broadcast.status_code == 403
    consumer = await read_new(topics, "dispatch.commands")
    try:
        dispatcher: Person = await sign_in("li_na")
        sent = await dispatcher.act("POST", "/api/commands", json=body)
        assert sent.status_code == 202
        command_id = sent.json()["command_id"]
        raw = await first_record(consumer, lambda v: command_id.encode() in v)
    finally:
        await consumer.stop()
    command = decode(DispatchCommand, raw)
    assert command.actor == "li_na" and command.command.kind == CommandKind.set_unit_duty
    assert command.region == "hunan-shaoyang"
    row = await db.fetchrow("select * from console_audit where command_id = $1", UUID(command_id))
    assert row["actor"] == "li_na" and row["outcome"] == "sent" and row["unit_id"] == "SY-P05-M1"
    viewers = await db.fetchval(
        "select count(*) from console_audit where actor = 'wang_fang' and action <> 'login'"
    )
    assert viewers == 0


async def test_dispatchs_answer_reaches_the_screen_and_the_audit(
    sign_in: Any, screen: Any, peers: Peers, topics: KafkaSettings, db: asyncpg.Connection
) -> None:
    person: Person = await sign_in("zhang_wei")
    shown = await screen(person)
    await shown.wait_for(lambda m: m["t"] == "snapshot")
    sent = await person.act(
        "POST",
        "/api/commands",
        json={"kind": "set_unit_duty", "unit_id": "SY-P05-C1", "duty": "out_of_service"},
    )
    command_id = UUID(sent.json()["command_id"])
    answer = CommandHandled(
        command_id=command_id,
        kind=CommandKind.set_unit_duty,
        region="hunan-shaoyang",
        actor="zhang_wei",
        outcome=CommandOutcome.refused,
        reason="unit_busy",
        detail="SY-P05-C1 already holds an open work order",
        unit_id="SY-P05-C1",
        handled_at=now(),
    )
    await peers._send("dispatch.command_results", "hunan-shaoyang", answer)
    got = await shown.wait_for(
        lambda m: m["t"] == "answer" and m["answer"]["command_id"] == str(command_id) and m
    )
    assert got["answer"]["outcome"] == "refused" and got["answer"]["reason"] == "unit_busy"
    async with asyncio.timeout(10):
        while (
            await db.fetchval("select outcome from console_audit where command_id = $1", command_id)
        ) != "refused":
            await asyncio.sleep(0.05)


async def test_an_accepted_alarm_is_on_the_screen_at_once_and_positions_come_batched(
    sign_in: Any, screen: Any, peers: Peers
) -> None:
    shown = await screen(await sign_in("wang_fang"))
    await shown.wait_for(lambda m: m["t"] == "snapshot")
    call = alarm(east(0), address="人民广场")  # the caller's number: tests/e2e/console
    started = asyncio.get_running_loop().time()
    await peers.alarm(call)
    incident = await shown.wait_for(
        lambda m: m["t"] == "incident" and m["incident"]["id"] == str(call.alarm_id) and m
    )
    assert asyncio.get_running_loop().time() - started < 1.0
    assert incident["incident"]["address"] == "人民广场"
    # 40 states of one unit within half a second: at most one diff per tick (0.25 s here)
    moves = [unit_state("SY-P02-M1", east(10 * i), UnitStatus.available) for i in range(40)]
    first = len(shown.messages)
    await peers.units(*moves)
    last = await shown.wait_for(
        lambda m: (
            m["t"] == "pos"
            and any(
                r[0] == "SY-P02-M1" and abs(r[2] - round(moves[-1].lon, 5)) < 1e-6 for r in m["u"]
            )
            and m
        )
    )
    assert last is not None
    diffs = [
        t
        for m, t in zip(shown.messages[first:], shown.arrived[first:], strict=True)
        if m["t"] == "pos"
    ]
    gaps = [b - a for a, b in itertools.pairwise(diffs)]
    assert all(g > 0.15 for g in gaps), gaps


async def record(db: asyncpg.Connection, call: AlarmAccepted) -> None:
    """The alarm as the alarm service stores it before publishing it: the console's reconcile
    (every second here) closes an incident PostgreSQL does not hold as open."""
    await db.execute(
        "insert into alarms (alarm_id, region, source, source_alarm_id, body_sha256, reported_at,"
        " received_at, lat, lon, category, priority, tier, target_seconds, status) values"
        " ($1, $2, $3, $4, '\\x00', $5, $6, $7, $8, $9, $10, $11, $12, 'accepted')",
        call.alarm_id,
        call.region,
        call.source,
        call.source_alarm_id,
        call.reported_at,
        call.received_at,
        call.location.lat,
        call.location.lon,
        str(call.category),
        call.priority,
        str(call.tier),
        call.target_seconds,
    )


async def test_an_alarm_moved_by_its_integration_moves_on_the_screen(
    sign_in: Any, screen: Any, peers: Peers, db: asyncpg.Connection
) -> None:
    shown = await screen(await sign_in("wang_fang"))
    await shown.wait_for(lambda m: m["t"] == "snapshot")
    call = alarm(east(0, north=-900))
    await record(db, call)
    await peers.alarm(call)
    await shown.wait_for(
        lambda m: m["t"] == "incident" and m["incident"]["id"] == str(call.alarm_id)
    )
    lat, lon = east(1500, north=-900)
    moved = amended(
        call,
        location=GeoPoint(lat=lat, lon=lon),
        priority=1,
        amendment=Amendment(update_id="U-17", at=now(), moved_m=1500.0, replan=True),
    )
    await peers.alarm(moved)
    again = await shown.wait_for(
        lambda m: (
            m["t"] == "incident"
            and m["incident"]["id"] == str(call.alarm_id)
            and m["incident"]["lon"] == lon
            and m
        )
    )
    assert (again["incident"]["lat"], again["incident"]["priority"]) == (lat, 1)


async def test_a_broadcast_goes_to_notify_with_the_person_who_sent_it(
    sign_in: Any, topics: KafkaSettings
) -> None:
    consumer = await read_new(topics, "notify.broadcasts")
    try:
        person: Person = await sign_in("li_na")
        sent = await person.act(
            "POST",
            "/api/broadcasts",
            json={
                "lat": 27.2412,
                "lon": 111.4688,
                "radius_m": 1500,
                "audience": ["taxi", "volunteer"],
                "text": "协查：白色面包车",
            },
        )
        assert sent.status_code == 202
        broadcast_id = sent.json()["broadcast_id"]
        raw = await first_record(consumer, lambda v: broadcast_id.encode() in v)
    finally:
        await consumer.stop()
    request = decode(BroadcastRequested, raw)
    assert request.requested_by == "li_na" and request.radius_m == 1500


async def test_a_disabled_user_is_signed_out_at_once(sign_in: Any, console: Host[Console]) -> None:
    from kj_console.service_layer.users import disable_user

    person: Person = await sign_in("chen_jie")
    assert (await person.client.get("/api/me")).status_code == 200
    await disable_user(console.core.pool, "chen_jie")
    async with asyncio.timeout(10):  # within the session cache's lifetime (5 s)
        while (await person.client.get("/api/me")).status_code != 401:
            await asyncio.sleep(0.2)
    from kj_console.domain.roles import Role
    from kj_console.service_layer.auth import add_user

    await add_user(
        console.core.pool,
        username="chen_jie",
        display_name="chen_jie",
        role=Role.supervisor,
        password=PASSWORD,
    )
