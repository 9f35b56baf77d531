"""Kafka consumers: each parses a batch, hands it to its handler, and wakes whoever sends.
Every replica consumes work orders in the shared group; a replica that does not hold the
unit's socket learns of the new delivery through PostgreSQL NOTIFY (decision 0040)."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from aiokafka import ConsumerRecord

from kj_notify.adapters import deliveries
from kj_notify.metrics import UNDELIVERED
from kj_runtime.consumer import consume_batches
from kj_runtime.kafka import make_consumer
from kj_runtime.settings import KafkaSettings

Handler = Callable[[Sequence[ConsumerRecord]], Awaitable[None]]


async def run_consumer(
    kafka: KafkaSettings, topic: str, group: str, handle: Handler, stop: asyncio.Event
) -> None:
    consumer = make_consumer(kafka, topic, group_id=group, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        await consume_batches(consumer, handle, stop, group=group, timeout_ms=50)
    finally:
        await consumer.stop()


async def watch_backlog(pool: asyncpg.Pool, stop: asyncio.Event, every_s: float = 5.0) -> None:
    """Keep the undelivered-backlog gauge current."""
    while not stop.is_set():
        try:
            UNDELIVERED.set(await deliveries.backlog(pool))
        except Exception:  # noqa: S110 - a gauge is best effort; the next round tries again
            pass
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            pass
