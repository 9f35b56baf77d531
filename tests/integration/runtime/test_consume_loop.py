"""The shared consume loop and service host against the real broker and database: a record
that can never be processed is dead-lettered and its partition goes on; a failure that heals
is retried until it does; a loop that dies takes the service's readiness down and stops it."""

import asyncio
import uuid
from collections.abc import Sequence

import asyncpg
import httpx

from kj_runtime.consume import CommitEvery
from kj_runtime.db import create_pool
from kj_runtime.host import Host, hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import decode, encode
from kj_schemas.deadletter import DeadLetter
from kj_schemas.topics import DEADLETTERS
from kj_schemas.workorders import WorkOrderEvent
from tests.stack import read_to_end
from tests.unit.runtime.messages import event

from .consuming import produce, service_with, until


async def letters_for(topics: KafkaSettings, group_units: set[str]) -> list[DeadLetter]:
    records = await read_to_end(topics, topics.topic(DEADLETTERS.name))
    letters = [decode(DeadLetter, r.value) for r in records]
    return [letter for letter in letters if any(unit in letter.value for unit in group_units)]


async def test_a_huge_record_and_a_nul_are_dead_lettered_and_the_partition_goes_on(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    run = uuid.uuid4().hex[:6]
    poison, later = f"NUL-{run}", f"OK-{run}"
    handled: list[str] = []
    pool = await create_pool(database)

    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        async with pool.acquire() as connection:
            for e in events:
                text = "a\x00b" if e.unit_id == poison else e.unit_id
                await connection.execute("select $1::text", text)  # PostgreSQL refuses NUL
        handled.extend(e.unit_id for e in events)

    huge = b'{"unit_id": "BIG-' + run.encode() + b'", "pad": "' + b"x" * 1_000_000 + b'"}'
    try:
        await produce(
            topics,
            ("big", huge),
            (poison, encode(event(poison))),
            (later, encode(event(later))),
        )
        async with hosted(service_with(topics, handle, f"g-{run}"), http=False):
            await until(lambda: later in handled)
        letters = await letters_for(topics, {f"BIG-{run}", poison})
    finally:
        await pool.close()
    assert poison not in handled
    by_reason = {letter.reason: letter for letter in letters}
    assert set(by_reason) == {"schema", "unprocessable"}
    assert by_reason["schema"].value_bytes == len(huge) and by_reason["schema"].truncated
    assert "CharacterNotInRepertoire" in by_reason["unprocessable"].detail


async def test_a_database_that_is_down_is_waited_for_and_nothing_is_skipped(
    topics: KafkaSettings,
) -> None:
    run = uuid.uuid4().hex[:6]
    units = [f"U{n}-{run}" for n in range(3)]
    handled: list[str] = []
    failures = 0

    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        nonlocal failures
        if failures < 3:
            failures += 1
            raise asyncpg.CannotConnectNowError("the database system is starting up")
        handled.extend(e.unit_id for e in events)

    await produce(topics, *((u, encode(event(u))) for u in units))
    async with hosted(service_with(topics, handle, f"g-{run}"), http=False):
        await until(lambda: set(units) <= set(handled))
    assert failures == 3
    assert [u for u in handled if u in units] == units
    assert await letters_for(topics, set(units)) == []


async def test_a_loop_that_dies_takes_readiness_down_and_stops_the_service(
    topics: KafkaSettings,
) -> None:
    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("a bug in a loop")

    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        return None

    service = service_with(topics, handle, f"g-{uuid.uuid4().hex[:6]}")
    service.loops["broken"] = broken
    stop = asyncio.Event()
    host = Host(service, stop)
    await host.start(http=False)
    try:
        async with asyncio.timeout(10):
            await stop.wait()
        assert host.failed == "broken"
        assert service.app is not None
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            answer = await client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["tasks"] is False
    finally:
        await host.close()


async def test_lazy_commits_are_made_before_the_loop_ends(topics: KafkaSettings) -> None:
    """CommitEvery: what was handled is committed by the time the service stops, so a
    restart does not hand it over again."""
    run = uuid.uuid4().hex[:6]
    units = [f"C{n}-{run}" for n in range(5)]
    last = f"last-{run}"
    seen: list[str] = []

    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        seen.extend(e.unit_id for e in events)

    await produce(topics, *((u, encode(event(u))) for u in units))
    group = f"g-{run}"
    async with hosted(service_with(topics, handle, group, commit=CommitEvery(30)), http=False):
        await until(lambda: set(units) <= set(seen))
    async with hosted(service_with(topics, handle, group), http=False):
        await produce(topics, (last, encode(event(last))))
        await until(lambda: last in seen)
    assert [u for u in seen if u in units or u == last] == [*units, last]
