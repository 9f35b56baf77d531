"""Kafka clients with the defaults this product needs (aiokafka's own are not safe here):
producers wait for every in-sync replica and are idempotent; consumers commit only after
the work is done."""

import asyncio
import functools
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner, murmur2

from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import CATALOGUE, TopicSpec

# aiokafka's murmur2 is pure Python, 6 us for a unit's or an alarm's id: per record sent, two
# for each alarm taken in. The keys of the busy topics repeat (a region, a unit), so each
# key's hash is remembered, within a bound
_key_hash = functools.lru_cache(maxsize=32_768)(murmur2)


class KeyPartitioner(DefaultPartitioner):
    """Kafka's default partitioner (murmur2 of the key, as Java's and every client here), each
    key's hash computed once; a record without a key goes where aiokafka's would."""

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        if key is None:
            return int(super().__call__(key, all_partitions, available))
        return all_partitions[(_key_hash(key) & 0x7FFFFFFF) % len(all_partitions)]


def make_producer(settings: KafkaSettings, **overrides: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "request_timeout_ms": 15_000,
        "partitioner": KeyPartitioner(),
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


class Assignments(ConsumerRebalanceListener):
    """Counts the assignments a consumer group hands one consumer. A member expelled from its
    group (paused past its session) rejoins and may get the very partitions it had: another
    process held them meanwhile, so that is a new assignment all the same, which the set of
    partitions alone does not show."""

    def __init__(self) -> None:
        self.count = 0

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.count += 1


# How long the broker holds a fetch that finds nothing. A waiting fetch is answered as soon as
# a record arrives on one of the partitions it names; a short bound makes each idle consumer
# poll many times a second. At 50 ms the alarm service's three consumers, idle, cost it 44 ms
# of CPU a second and the broker 43 (at 500: 19 and 6), measured on the dev stack; a service
# runs several consumers, and on two cores that is the headroom of the busy ones (decision 0166).
FETCH_MAX_WAIT_MS = 500
# ...but a fetch does not name the partitions whose records are still waiting in the client:
# when the consume loop takes longer than aiokafka's prefetch backoff (100 ms) to take them,
# the next fetch goes out without them and the records that come next on them wait for that
# fetch to end, up to its whole bound. The consumers that carry calls to a unit (dispatch's
# alarms, notify's work orders) keep a short bound, so a slow batch costs the next call at
# most this much more (decision 0177).
CALL_FETCH_MAX_WAIT_MS = 50


def make_consumer(
    settings: KafkaSettings,
    *topics: str,
    group_id: str | None,
    assignments: Assignments | None = None,
    **overrides: Any,
) -> AIOKafkaConsumer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "group_id": group_id,
        # a restart under the same name rejoins in place (decision 0100)
        "group_instance_id": settings.group_instance if group_id is not None else None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": 2000,
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
    }
    options.update(overrides)
    names = [settings.topic(topic) for topic in topics]
    if assignments is None:
        return AIOKafkaConsumer(*names, **options)
    consumer = AIOKafkaConsumer(**options)
    consumer.subscribe(names, listener=assignments)
    return consumer


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer and leave its group at once, a static member too: aiokafka leaves only
    as a dynamic member (KIP-345's static members keep their place until their session ends),
    and a clean stop is exactly when the others should take its partitions now (a rolling
    update gives the pod a new name; decision 0100). A crash still keeps the place."""
    coordinator = consumer._coordinator
    if coordinator is not None:
        coordinator._group_instance_id = None
    await consumer.stop()


async def wait_for_kafka(settings: KafkaSettings, *, deadline_s: float = 60) -> int:
    """Wait until the broker answers a metadata request; returns the number of brokers."""
    give_up = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while time.monotonic() < give_up:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return len(cluster["brokers"])
        except (KafkaError, OSError) as error:
            last_error = error
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
    raise TimeoutError(
        f"Kafka at {settings.bootstrap} did not answer a metadata request within "
        f"{deadline_s:.0f}s (last error: {last_error!r}); is it up? try `make up`"
    )


async def create_topics(
    settings: KafkaSettings, specs: tuple[TopicSpec, ...] = CATALOGUE
) -> tuple[list[str], list[str]]:
    """Create the catalogue's topics that are missing. Returns (created, already there)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in specs if settings.topic(spec.name) not in existing]
        created: list[str] = []
        for spec in wanted:
            topic = NewTopic(
                name=settings.topic(spec.name),
                num_partitions=spec.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=spec.config(),
            )
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        present = sorted(
            settings.topic(s.name) for s in specs if settings.topic(s.name) in existing
        )
        # the controller answers before every broker's metadata has the new topics: a client
        # asking at once (kcat -L, a producer) may not see them yet; wait until it would
        give_up = time.monotonic() + 30
        while created and not set(created) <= set(await admin.list_topics()):
            if time.monotonic() > give_up:
                raise TimeoutError(f"created topics not in the metadata after 30 s: {created}")
            await asyncio.sleep(0.1)
        return created, present
    finally:
        await admin.close()


def stray_topic_names(names: list[str], settings: KafkaSettings) -> list[str]:
    """Topics on the broker that are neither this deployment's catalogue nor Kafka's own: what
    interrupted test and benchmark runs leave behind. Hundreds of them made every benchmark
    slower (decision 0012)."""
    ours = {settings.topic(spec.name) for spec in CATALOGUE}
    return [name for name in names if name not in ours and not name.startswith("__")]


def stray_topics(names: list[str], settings: KafkaSettings) -> dict[str, int]:
    """The stray topics counted by the name's first part (a test run's or a benchmark's
    prefix)."""
    strays: dict[str, int] = {}
    for name in stray_topic_names(names, settings):
        head = name.split(".", 1)[0]
        strays[head] = strays.get(head, 0) + 1
    return strays


async def list_topics(settings: KafkaSettings) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def delete_topics(settings: KafkaSettings, names: list[str]) -> None:
    """Delete what a test or benchmark made (a name not on the broker is no error)."""
    if not names:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def partitions_of(settings: KafkaSettings, topic: str) -> list[TopicPartition]:
    """The partitions of `topic` (a full name), from a metadata answer: a consumer without a
    group does not learn them by itself."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic, p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    )


async def key_partitions(
    settings: KafkaSettings, topic: str, keys: list[str]
) -> dict[int, set[str]]:
    """Which keys land in each partition of `topic` (a catalogue name): records are keyed
    (units, regions) and partitioned by Kafka's default partitioner, murmur2 of the key, as every
    client here and Java's default produce them. A process that holds some partitions owns
    exactly these keys."""
    partitions = [tp.partition for tp in await partitions_of(settings, settings.topic(topic))]
    if not partitions:
        return {}
    partitioner = KeyPartitioner()
    owners: dict[int, set[str]] = {}
    for key in keys:
        partition = partitioner(key.encode(), partitions, partitions)
        owners.setdefault(partition, set()).add(key)
    return owners


__all__ = [
    "KafkaConnectionError",
    "KeyPartitioner",
    "create_topics",
    "delete_topics",
    "key_partitions",
    "list_topics",
    "make_consumer",
    "make_producer",
    "partitions_of",
    "stop_consumer",
    "stray_topic_names",
    "stray_topics",
    "wait_for_kafka",
]
