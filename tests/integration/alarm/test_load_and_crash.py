"""Concurrent load through a real server process: repeats create nothing, and a SIGKILL in
the middle of the load loses no alarm that was answered 201."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas import codec
from kj_schemas.alarms import AlarmAccepted
from kj_sim.services import free_port

from .conftest import AUTH, read_topic
from .server import ServerProcess, served

pytestmark = pytest.mark.slow


def distinct_reports(run: str, count: int, days_ago: int) -> list[dict[str, Any]]:
    """Alarms an hour apart (beyond the merge window), so none is a duplicate call, from
    `days_ago`; each test takes its own stretch of days, before the other tests' alarms (the
    last 252 days and 270 to 276 days ago), so no two tests' alarms merge either."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    return [
        {
            "source": "sy110",
            "source_alarm_id": f"{run}-{i:05d}",
            "reported_at": (base + timedelta(hours=i)).isoformat(),
            "location": {"lat": 27.1 + (i % 30) * 0.01, "lon": 111.3 + (i // 30) * 0.01},
            "category": "theft",
            "priority": 3,
            "caller_phone": "13807391234",
        }
        for i in range(count)
    ]


async def post_all(
    url: str, bodies: list[dict[str, Any]], *, concurrency: int = 50
) -> list[tuple[dict[str, Any], int | None, dict[str, Any] | None]]:
    """(body, status or None when the connection failed, answer) for each body."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=AUTH, limits=limits, timeout=30) as client:

        async def one(body: dict[str, Any]) -> tuple[dict[str, Any], int | None, Any]:
            async with gate:
                try:
                    answer = await client.post("/v1/alarms", json=body)
                except httpx.TransportError:
                    return body, None, None
                return body, answer.status_code, answer.json()

        return list(await asyncio.gather(*(one(b) for b in bodies)))


async def accepted_on_kafka(topics: KafkaSettings, run: str, at_least: int) -> list[AlarmAccepted]:
    def mine(records: list[Any]) -> list[AlarmAccepted]:
        return [
            m
            for r in records
            if (m := codec.decode(AlarmAccepted, r.value)).source_alarm_id.startswith(run)
        ]

    records = await read_topic(
        topics, "alarms.accepted", until=lambda rs: len(mine(rs)) >= at_least, deadline_s=60
    )
    await asyncio.sleep(0)  # nothing more to wait for: the deadline above bounds the read
    return mine(records)


async def test_1000_concurrent_posts_with_100_repeats_make_900_alarms_and_900_messages(
    database: PostgresSettings, topics: KafkaSettings, db: asyncpg.Connection
) -> None:
    run = f"L{uuid.uuid4().hex[:6]}"
    bodies = distinct_reports(run, 900, days_ago=364)
    load = bodies + bodies[::9][:100]  # 100 repeats, interleaved with the first sends
    load = [x for pair in zip(load[:100], load[900:], strict=True) for x in pair] + load[100:900]
    async with served(database, topics) as server:
        answers = await post_all(server.url, load)
        statuses = [status for _, status, _ in answers]
        assert statuses.count(201) == 900 and statuses.count(200) == 100, set(statuses)
        by_id: dict[str, set[str]] = {}
        for body, _, answer in answers:
            assert answer is not None
            by_id.setdefault(body["source_alarm_id"], set()).add(answer["alarm_id"])
        assert all(len(ids) == 1 for ids in by_id.values())  # a repeat gets the first answer
        rows = await db.fetchval(
            "select count(*) from alarms where source_alarm_id like $1", f"{run}-%"
        )
        assert rows == 900
        messages = await accepted_on_kafka(topics, run, 900)
    assert len(messages) == 900
    assert len({m.alarm_id for m in messages}) == 900


async def test_sigkill_mid_load_then_restart_loses_no_alarm_that_got_a_201(
    database: PostgresSettings, topics: KafkaSettings, db: asyncpg.Connection
) -> None:
    run = f"K{uuid.uuid4().hex[:6]}"
    bodies = distinct_reports(run, 1000, days_ago=324)
    server = ServerProcess(database, topics, free_port())
    await server.start()
    try:
        load = asyncio.create_task(post_all(server.url, bodies, concurrency=50))

        async def some_answered() -> None:
            while (
                await db.fetchval(
                    "select count(*) from alarms where source_alarm_id like $1", f"{run}-%"
                )
                < 300
            ):
                await asyncio.sleep(0.02)

        async with asyncio.timeout(60):
            await some_answered()
        server.kill()
        answers = await load
        created = {a["alarm_id"] for _, status, a in answers if status == 201 and a}
        assert all(a["status"] == "accepted" for _, status, a in answers if status == 201 and a)
        assert 0 < len(created) < 1000, "the kill should land mid-load"
        await server.start()  # the relay publishes what the outbox still holds
        stored = await db.fetch(
            "select alarm_id::text from alarms where source_alarm_id like $1", f"{run}-%"
        )
        assert created <= {r["alarm_id"] for r in stored}
        messages = await accepted_on_kafka(topics, run, len(stored))
        assert created <= {str(m.alarm_id) for m in messages}
    finally:
        server.stop()
