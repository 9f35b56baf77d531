"""Kafka consumers: each parses a batch, hands it to its handler, and wakes whoever sends.
Every replica consumes work orders in the shared group; a replica that does not hold the
unit's socket learns of the new delivery through PostgreSQL NOTIFY (decision 0040)."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from kj_notify.adapters import deliveries
from kj_notify.metrics import UNDELIVERED
from kj_notify.service_layer.terminals import fail_overdue
from kj_runtime.consumer import CONSUMED, HANDLER_FAILURES, consume_batches
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.kafka import make_consumer
from kj_runtime.lifecycle import sleep_or_stop
from kj_runtime.outbox import Outbox
from kj_runtime.settings import KafkaSettings

log = structlog.get_logger(__name__)

FETCH_MAX_WAIT_MS = 500
Handler = Callable[[Sequence[ConsumerRecord]], Awaitable[None]]


async def run_consumer(
    kafka: KafkaSettings,
    topic: str,
    group: str,
    handle: Handler,
    stop: asyncio.Event,
    *,
    commit_every_s: float | None = None,
) -> None:
    """`commit_every_s=None`: the runtime's loop (commit after every batch). A number: commit at
    most that often (decision 0041), for handlers that are idempotent by message id."""
    # The broker answers a waiting fetch as soon as a record arrives, so the wait bound only
    # matters when the topic is idle: a short one costs latency nothing but makes each idle
    # consumer poll 50 times a second (about 35 ms of CPU a second each, measured; 8 at 500).
    consumer = make_consumer(kafka, topic, group_id=group, fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    await consumer.start()
    try:
        if commit_every_s is None:
            await consume_batches(consumer, handle, stop, group=group, timeout_ms=50)
        else:
            await consume_committing_every(consumer, handle, stop, group, commit_every_s)
    finally:
        await consumer.stop()


async def consume_committing_every(
    consumer: AIOKafkaConsumer,
    handle: Handler,
    stop: asyncio.Event,
    group: str,
    commit_every_s: float,
) -> None:
    """Like kj_runtime.consumer.consume_batches, but the offset commit (a broker round trip)
    is not on the path of any batch: at most every `commit_every_s` the offsets of the batches
    handled so far are committed in the background while the next ones are fetched. After a
    crash the records since the last commit are handled again, and the handler drops them by
    message id (decision 0041)."""
    handled: dict[TopicPartition, int] = {}  # next offset to read, once handled
    committed: dict[TopicPartition, int] = {}
    committing: asyncio.Task[None] | None = None
    last_commit = time.monotonic()
    backoff = 0.1
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=50, max_records=2000)
            if batches:
                records = [record for partition in batches.values() for record in partition]
                try:
                    await handle(records)
                    backoff = 0.1
                except Exception as error:
                    HANDLER_FAILURES.labels(group).inc()
                    log.warning("batch_failed_will_retry", group=group, error=repr(error))
                    for partition, partition_records in batches.items():
                        consumer.seek(partition, partition_records[0].offset)
                    await sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                for partition, partition_records in batches.items():
                    handled[partition] = partition_records[-1].offset + 1
                    CONSUMED.labels(group, partition.topic).inc(len(partition_records))
            due = time.monotonic() - last_commit >= commit_every_s
            if due and (committing is None or committing.done()):
                last_commit = time.monotonic()
                if offsets := _uncommitted(consumer, handled, committed):
                    committing = asyncio.create_task(_commit(consumer, offsets, committed, group))
    finally:
        if committing is not None:
            await committing
        if offsets := _uncommitted(consumer, handled, committed):
            await _commit(consumer, offsets, committed, group)


def _uncommitted(
    consumer: AIOKafkaConsumer,
    handled: dict[TopicPartition, int],
    committed: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Handled offsets not committed yet, for partitions still assigned here (a rebalance
    may have moved some away)."""
    mine = consumer.assignment()
    return {
        partition: offset
        for partition, offset in handled.items()
        if partition in mine and committed.get(partition) != offset
    }


async def _commit(
    consumer: AIOKafkaConsumer,
    offsets: dict[TopicPartition, int],
    committed: dict[TopicPartition, int],
    group: str,
) -> None:
    try:
        await consumer.commit(offsets)
    except KafkaError as error:  # tried again next round; a crash first means a re-read
        log.warning("offset_commit_failed", group=group, error=repr(error))
    else:
        committed.update(offsets)


async def watch_backlog(
    pool: asyncpg.Pool, outbox: Outbox, stop: asyncio.Event, every_s: float = 5.0
) -> None:
    """Keep the undelivered-backlog gauge current; record failed receipts for overdue ones."""
    while not stop.is_set():
        try:
            UNDELIVERED.set(await deliveries.backlog(pool))
            await fail_overdue(pool, outbox)
        except UNAVAILABLE as error:
            log.warning("backlog_check_failed", error=type(error).__name__)  # next round retries
        except Exception:  # a bug here must not take the gateway down with it
            log.exception("backlog_check_crashed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            pass
