"""The outbox relays, tracking's state and the simulator publish in record batches per topic
and partition (`BatchSender`): each keyed record lands on the partition a keyed send of any
Kafka client puts it on, so the process that owns the key reads it, and a key's records arrive
in the order they were handed in. A real broker."""

import asyncio
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from kj_runtime.batch_publisher import BatchSender
from kj_runtime.kafka import make_producer
from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import ALARMS_STATUS, UNITS_STATE


async def read_all(
    settings: KafkaSettings, topic: str, partitions: int, count: int
) -> list[tuple[int, bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        read: list[tuple[int, bytes | None, bytes]] = []
        async with asyncio.timeout(30):
            while len(read) < count:
                for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                    read += [(tp.partition, r.key, r.value) for r in records]
        return read
    finally:
        await consumer.stop()


async def test_keyed_records_land_where_a_keyed_send_puts_them_in_order_per_key(
    topics: KafkaSettings,
) -> None:
    status, state = topics.topic(ALARMS_STATUS.name), topics.topic(UNITS_STATE.name)
    records: list[tuple[str, bytes | None, bytes]] = []
    for n in range(600):  # 40 keys a topic, interleaved, and some without a key
        topic = status if n % 2 else state
        key = None if n % 50 == 7 else f"key-{n % 40}".encode()
        records.append((topic, key, b"%d" % n))
    producer = make_producer(topics)
    await producer.start()
    try:
        await BatchSender(producer).send(records)
        await BatchSender(producer).send([])  # nothing to send is no error
    finally:
        await producer.stop()

    reference = DefaultPartitioner()
    for topic, count in ((status, ALARMS_STATUS.partitions), (state, UNITS_STATE.partitions)):
        sent = [(key, value) for t, key, value in records if t == topic]
        read = await read_all(topics, topic, count, len(sent))
        assert sorted(value for _, _, value in read) == sorted(value for _, value in sent)
        partitions = list(range(count))
        order: dict[bytes, list[bytes]] = defaultdict(list)
        for partition, key, value in read:
            if key is not None:
                assert partition == reference(key, partitions, partitions), key
                order[key].append(value)
        for key, values in order.items():
            assert values == [value for k, value in sent if k == key], key
