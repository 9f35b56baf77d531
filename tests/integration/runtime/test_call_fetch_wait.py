"""A call that comes right after a slow batch is read at once (decision 0177). aiokafka leaves
a partition whose records still wait in the client out of its next fetch once its prefetch
backoff (100 ms) has passed, and a call that then comes on that partition waits until that
fetch ends: up to the whole idle bound the broker holds it. The consumers that carry calls
(dispatch's alarms, notify's work orders) keep a short bound. A real broker."""

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from kj_runtime.kafka import CALL_FETCH_MAX_WAIT_MS, make_consumer, make_producer
from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import ALARMS_ACCEPTED

SLOW_BATCH_S = 0.2  # the consume loop busy with a batch, longer than the prefetch backoff


async def read_until(consumer: AIOKafkaConsumer, value: bytes) -> None:
    async with asyncio.timeout(10):
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            if any(r.value == value for records in batches.values() for r in records):
                return


async def test_a_call_after_a_slow_batch_is_read_without_the_idle_fetch_wait(
    topics: KafkaSettings,
) -> None:
    topic = topics.topic(ALARMS_ACCEPTED.name)
    partitions = [TopicPartition(topic, p) for p in range(ALARMS_ACCEPTED.partitions)]
    consumer = make_consumer(topics, group_id=None, fetch_max_wait_ms=CALL_FETCH_MAX_WAIT_MS)
    producer = make_producer(topics)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.getmany(timeout_ms=200)  # positions known, the fetcher running
        await producer.send_and_wait(topic, b"first call", partition=0)
        # the loop is busy with another batch meanwhile: the first call waits in the client,
        # and the fetcher's next fetch goes out without partition 0
        await asyncio.sleep(SLOW_BATCH_S)
        await read_until(consumer, b"first call")
        began = time.monotonic()
        await producer.send_and_wait(topic, b"second call", partition=0)
        await read_until(consumer, b"second call")
        waited_ms = 1000 * (time.monotonic() - began)
    finally:
        await producer.stop()
        await consumer.stop()
    # with decision 0166's idle bound (500 ms) it waited about 400 ms
    assert waited_ms < 250, f"the second call was read {waited_ms:.0f} ms after it was sent"
