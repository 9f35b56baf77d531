"""Every contract model through the real broker, the outbox relay, and dead letters."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from kj_runtime.db import create_pool, relay_pool
from kj_runtime.deadletters import DeadLetters
from kj_runtime.kafka import make_consumer, make_producer
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas import codec
from kj_schemas.deadletter import DeadLetter
from kj_schemas.examples import EXAMPLES, Example
from kj_schemas.topics import CATALOGUE, DEADLETTERS, PATROL_PINGS, TopicSpec

from ..stack import read_to_end


def _topic_for(example: Example) -> TopicSpec:
    return next(spec for spec in CATALOGUE if spec.value is example.model)


@pytest.fixture
async def producer(topics: KafkaSettings) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(topics)
    await producer.start()
    yield producer
    await producer.stop()


async def _read(
    settings: KafkaSettings, topic: str, count: int, *, deadline_s: float = 20
) -> list[bytes]:
    consumer: AIOKafkaConsumer = make_consumer(settings, topic, group_id=None)
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(deadline_s):
            while len(values) < count:
                batches = await consumer.getmany(timeout_ms=200)
                values += [r.value for records in batches.values() for r in records]
    finally:
        await consumer.stop()
    return values


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if any(s.value is e.model for s in CATALOGUE)],
    ids=lambda e: e.model.__name__,
)
async def test_contract_model_round_trips_through_the_real_broker(
    example: Example, topics: KafkaSettings, producer: AIOKafkaProducer
) -> None:
    spec = _topic_for(example)
    sent = example.model.model_validate(example.valid)
    marker = uuid.uuid4().hex.encode()
    await producer.send_and_wait(topics.topic(spec.name), codec.encode(sent), key=marker)

    consumer = make_consumer(topics, spec.name, group_id=None)
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            received = None
            while received is None:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        if record.key == marker:
                            received = codec.decode(example.model, record.value)
    finally:
        await consumer.stop()
    assert received == sent


async def test_every_catalogue_topic_exists_with_its_partitions_and_policy(
    topics: KafkaSettings,
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=topics.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topics.topic(s.name) for s in CATALOGUE])
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topics.topic("units.state"))]
        )
    finally:
        await admin.close()
    assert partitions == {topics.topic(s.name): s.partitions for s in CATALOGUE}
    entries = {entry[0]: entry[1] for entry in configs[0].resources[0][4]}
    assert entries["cleanup.policy"] == "compact"


async def _relay_until_drained(
    pool: asyncpg.Pool, topics: KafkaSettings, outbox: Outbox, deadline_s: float = 20
) -> None:
    """Run the real relay until the stream's rows have left the outbox table."""
    relay = OutboxRelay(pool, lambda: make_producer(topics), outbox, poll_interval_s=0.1)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await _drained(pool, outbox, deadline_s)
    finally:
        stop.set()
        await running


@asynccontextmanager
async def _relay_polling_rarely(
    pool: asyncpg.Pool, topics: KafkaSettings, outbox: Outbox
) -> AsyncIterator[None]:
    """The real relay, its poll 60 s away: whatever it sends within a test, it was woken for."""
    relay = OutboxRelay(pool, lambda: make_producer(topics), outbox, poll_interval_s=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await running


async def _drained(pool: asyncpg.Pool, outbox: Outbox, deadline_s: float) -> None:
    """Until the stream's rows have left the outbox table (TimeoutError after `deadline_s`)."""
    async with asyncio.timeout(deadline_s):
        while await pool.fetchval("select count(*) from outbox where stream = $1", outbox.stream):
            await asyncio.sleep(0.05)


async def _read_keys(topics: KafkaSettings, topic: str, keys: set[bytes]) -> list[bytes]:
    """Values under `keys` of everything on the topic now: other tests share the package's
    topics (some put garbage there on purpose), so only our keys are looked at."""
    return [r.value for r in await read_to_end(topics, topics.topic(topic)) if r.key in keys]


async def test_outbox_publishes_what_was_committed_and_nothing_that_was_rolled_back(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    pool = await create_pool(database)
    outbox = Outbox(stream=f"test-{uuid.uuid4().hex[:6]}", kafka=topics)
    kept = EXAMPLES[0].model.model_validate(EXAMPLES[0].valid)
    dropped = kept.model_copy(update={"source_alarm_id": "ROLLED-BACK"})
    try:
        async with pool.acquire() as connection:
            async with connection.transaction():
                await outbox.put(connection, "alarms.intake", "k1", kept)
            with pytest.raises(RuntimeError):
                async with connection.transaction():
                    await outbox.put(connection, "alarms.intake", "k2", dropped)
                    raise RuntimeError("the handler failed after writing")
        await _relay_until_drained(pool, topics, outbox)
    finally:
        await pool.close()
    ours = await _read_keys(topics, "alarms.intake", {b"k1", b"k2"})
    published = [codec.decode(type(kept), raw) for raw in ours]
    assert kept in published
    assert all(report.source_alarm_id != "ROLLED-BACK" for report in published)


async def test_a_refused_record_lands_in_dead_letters_with_its_cause(
    topics: KafkaSettings, producer: AIOKafkaProducer
) -> None:
    garbage = b'{"unit_id": "SY-P01-M1", "lat": "north"'
    await producer.send_and_wait(topics.topic(PATROL_PINGS.name), garbage, key=b"SY-P01-M1")
    consumer = make_consumer(topics, PATROL_PINGS.name, group_id=None)
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            record = None
            while record is None:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    record = next((r for r in records if r.value == garbage), record)
        await DeadLetters(producer, service="test", kafka=topics).send(
            record, reason="invalid_json", detail="EOF while parsing an object"
        )
    finally:
        await consumer.stop()
    letters = [codec.decode(DeadLetter, raw) for raw in await _read(topics, DEADLETTERS.name, 1)]
    assert any(
        letter.value == garbage.decode() and letter.reason == "invalid_json" for letter in letters
    )


async def test_a_batch_put_in_one_statement_is_published_in_order(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    pool = await create_pool(database)
    outbox = Outbox(stream=f"test-{uuid.uuid4().hex[:6]}", kafka=topics)
    base = EXAMPLES[0].model.model_validate(EXAMPLES[0].valid)
    key = f"batch-{uuid.uuid4().hex[:6]}"
    batch = [(key, base.model_copy(update={"source_alarm_id": f"{key}-{n}"})) for n in range(5)]
    try:
        async with pool.acquire() as connection, connection.transaction():
            await outbox.put_many(connection, "alarms.intake", batch)
        await _relay_until_drained(pool, topics, outbox)
    finally:
        await pool.close()
    seen = [
        codec.decode(type(base), raw).source_alarm_id
        for raw in await _read_keys(topics, "alarms.intake", {key.encode()})
    ]
    assert seen == [f"{key}-{n}" for n in range(5)]  # one key, one partition, in order


async def test_a_put_wakes_the_relay_at_its_commit(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    """A work order leaves when its transaction commits, not at the relay's next poll: the
    put's own statement tells the relay."""
    pool = await create_pool(database)
    outbox = Outbox(stream=f"test-{uuid.uuid4().hex[:6]}", kafka=topics)
    base = EXAMPLES[0].model.model_validate(EXAMPLES[0].valid)

    async def put_and_wait_until_sent(n: int) -> None:
        async with pool.acquire() as connection, connection.transaction():
            message = base.model_copy(update={"source_alarm_id": f"wake-{n}"})
            await outbox.put(connection, "alarms.intake", "wake", message)
        await _drained(pool, outbox, deadline_s=10)  # the relay's poll is 60 s away

    try:
        async with _relay_polling_rarely(pool, topics, outbox):
            await put_and_wait_until_sent(1)  # the relay is up and listening
            await put_and_wait_until_sent(2)  # and it is woken again by the next commit
    finally:
        await pool.close()


async def test_a_commit_in_the_relays_own_process_wakes_it_without_the_notification(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    """Intake and dispatch tell their own relay at commit (`Outbox.committed`), so a call does
    not wait for PostgreSQL to deliver the notification through another backend. The row here
    is written without one: only the process's own word can wake the relay before its poll."""
    pool = await create_pool(database)
    outbox = Outbox(stream=f"test-{uuid.uuid4().hex[:6]}", kafka=topics)
    message = EXAMPLES[0].model.model_validate(EXAMPLES[0].valid)
    try:
        async with _relay_polling_rarely(pool, topics, outbox):
            async with pool.acquire() as connection, connection.transaction():
                await outbox.put(connection, "alarms.intake", "first", message)
            await _drained(pool, outbox, deadline_s=10)  # the relay leads and waits
            await pool.execute(
                "insert into outbox (stream, topic, key, value) values ($1, $2, $3, $4)",
                outbox.stream,
                outbox.topic("alarms.intake"),
                b"quiet",
                codec.encode(message),
            )
            outbox.committed()
            await _drained(pool, outbox, deadline_s=10)  # the relay's poll is 60 s away
    finally:
        await pool.close()


async def test_the_relays_connection_goes_back_to_the_pool_with_durable_commits(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    """The relay deletes what it sent without waiting for the WAL flush, on the connection it
    leads with. That setting must not follow the connection back into the pool, where the next
    borrower may be committing an accepted alarm."""
    pool = await relay_pool(database, min_size=2, max_size=2)  # as every service builds it
    outbox = Outbox(stream=f"test-{uuid.uuid4().hex[:6]}", kafka=topics)
    message = EXAMPLES[0].model.model_validate(EXAMPLES[0].valid)
    try:
        async with _relay_polling_rarely(pool, topics, outbox):
            async with pool.acquire() as connection, connection.transaction():
                await outbox.put(connection, "alarms.intake", "durable", message)
            await _drained(pool, outbox, deadline_s=10)
        async with pool.acquire() as one, pool.acquire() as other:  # every connection there is
            settings = [await c.fetchval("show synchronous_commit") for c in (one, other)]
        assert settings == ["on", "on"]
    finally:
        await pool.close()
