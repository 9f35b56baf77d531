"""Publishes keyed records (unit states, GPS pings) in record batches, one per partition,
instead of one `send()` per record: aiokafka's per-message send (key hashing in Python, one
future each) costs more than the whole hot path of a ping. Keys go to the partition Kafka's
default partitioner (murmur2) would choose, computed once per key, so a compacted topic keeps
one record per key and a key's records stay in order."""

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder


class KeyedBatchPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self._partitioner = DefaultPartitioner()
        self._partitions: list[int] = []
        self._partition_of: dict[str, int] = {}

    async def publish(self, records: list[tuple[str, bytes]]) -> None:
        """Returns once the broker has every record."""
        if not records:
            return
        if not self._partitions:
            self._partitions = sorted(await self.producer.partitions_for(self.topic))
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for unit_id, value in records:
            partition = self._partition_of.get(unit_id)
            key = unit_id.encode()
            if partition is None:
                partition = self._partitioner(key, self._partitions, self._partitions)
                self._partition_of[unit_id] = partition
            by_partition.setdefault(partition, []).append((key, value))
        futures = []
        for partition, items in by_partition.items():
            batch = self.producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await self._send(batch, partition))
                    batch = self.producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await self._send(batch, partition))
        await asyncio.gather(*futures)

    async def _send(self, batch: BatchBuilder, partition: int) -> "asyncio.Future[object]":
        # a closed batch is sent at once; the caller waits for this acknowledgement (the ping
        # loop of tracking before it commits)
        batch.close()
        return await self.producer.send_batch(batch, self.topic, partition=partition)
