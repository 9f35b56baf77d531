"""Transitional (services move to kj_runtime.consume): the old loop, which retries every
handler failure with backoff."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from kj_runtime.consume import BATCH_SECONDS, CONSUMED, CONSUMER_LAG, HANDLER_FAILURES
from kj_runtime.lifecycle import sleep_or_stop

log = structlog.get_logger(__name__)

Handler = Callable[[Sequence[ConsumerRecord]], Awaitable[None]]


async def consume_batches(
    consumer: AIOKafkaConsumer,
    handle: Handler,
    stop: asyncio.Event,
    *,
    group: str,
    max_records: int = 2000,
    timeout_ms: int = 100,
    retriable: tuple[type[BaseException], ...] = (Exception,),
) -> None:
    backoff = 0.1
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        if not batches:
            continue
        records = [record for partition in batches.values() for record in partition]
        try:
            with BATCH_SECONDS.labels(group).time():
                await handle(records)
            await consumer.commit()
            backoff = 0.1
        except retriable as error:
            HANDLER_FAILURES.labels(group).inc()
            log.warning("batch_failed_will_retry", group=group, error=repr(error))
            for partition, partition_records in batches.items():
                consumer.seek(partition, partition_records[0].offset)
            await sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        per_topic: dict[str, int] = {}
        for partition, partition_records in batches.items():
            CONSUMED.labels(group, partition.topic).inc(len(partition_records))
            highwater = consumer.highwater(partition)
            if highwater is not None:
                behind = max(highwater - partition_records[-1].offset - 1, 0)
                per_topic[partition.topic] = per_topic.get(partition.topic, 0) + behind
        for topic, behind in per_topic.items():
            CONSUMER_LAG.labels(group, topic).set(behind)
