"""Publishes records in record batches, one per topic and partition, instead of one `send()`
per record: aiokafka's per-message send (a partitioner call, a future, the accumulator's
bookkeeping for each) costs more than the whole hot path of a ping, and about 15 us of each
outbox record a relay publishes. Keys go to the partition Kafka's default partitioner (murmur2)
would choose (`KeyPartitioner`), so a compacted topic keeps one record per key and a key's
records stay in order; a record without a key goes to any available partition."""

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from kj_runtime.kafka import KeyPartitioner


class BatchSender:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._partitioner = KeyPartitioner()

    async def send(self, records: Iterable[tuple[str, bytes | None, bytes]]) -> None:
        """(topic, key, value) records, in order per key; returns once the broker has every
        one (raises the producer's error otherwise)."""
        partitions: dict[str, list[int]] = {}  # the producer's metadata, read once a call
        batches: dict[tuple[str, int], BatchBuilder] = {}
        futures: list[asyncio.Future[object]] = []
        for topic, key, value in records:
            known = partitions.get(topic)
            if known is None:
                known = partitions[topic] = sorted(await self.producer.partitions_for(topic))
            partition = self._partitioner(key, known, known)
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[(topic, partition)] = self.producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:  # full
                futures.append(await self._send(batch, topic, partition))
                batch = batches[(topic, partition)] = self.producer.create_batch()
                batch.append(key=key, value=value, timestamp=None)
        for (topic, partition), batch in batches.items():
            futures.append(await self._send(batch, topic, partition))
        await asyncio.gather(*futures)

    async def _send(
        self, batch: BatchBuilder, topic: str, partition: int
    ) -> "asyncio.Future[object]":
        # a closed batch is sent at once: no linger, the caller waits for the acknowledgement
        batch.close()
        return await self.producer.send_batch(batch, topic, partition=partition)


class KeyedBatchPublisher:
    """Records keyed by a unit's id (unit states, GPS pings) for one topic."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self._sender = BatchSender(producer)

    async def publish(self, records: list[tuple[str, bytes]]) -> None:
        """Returns once the broker has every record."""
        topic = self.topic
        await self._sender.send((topic, unit_id.encode(), value) for unit_id, value in records)
