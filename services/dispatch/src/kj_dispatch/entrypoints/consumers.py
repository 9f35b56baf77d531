"""Thin consumers: decode, hand to the dispatcher, send what cannot be decoded to the dead
letters. Alarms and work-order events use the shared consume loop (commit after the handler);
`units.state` is read whole, without a group, to keep the fleet view."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import BaseModel, ValidationError

from kj_runtime.deadletters import DeadLetterSink
from kj_schemas.codec import decode

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)


def decoding_handler(
    model: type[M],
    handle: Callable[[list[M]], Awaitable[object]],
    dead_letters: DeadLetterSink | None,
) -> Callable[[Sequence[ConsumerRecord]], Awaitable[None]]:
    async def handler(records: Sequence[ConsumerRecord]) -> None:
        messages: list[M] = []
        for record in records:
            try:
                messages.append(decode(model, record.value))
            except (ValidationError, ValueError) as error:
                log.warning("undecodable_record", topic=record.topic, offset=record.offset)
                if dead_letters is not None:
                    await dead_letters.send(record, reason="invalid", detail=str(error))
        if messages:
            await handle(messages)

    return handler


async def read_compacted(
    consumer: AIOKafkaConsumer,
    topic: str,
    on_record: Callable[[ConsumerRecord], None],
    caught_up: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Read every partition of `topic` from the beginning and keep following it; set
    `caught_up` once the end offsets seen at start are reached."""
    consumer.subscribe([topic])  # without a group: every partition is ours
    while not consumer.assignment() and not stop.is_set():
        await consumer.getmany(timeout_ms=50)
    assigned = sorted(consumer.assignment(), key=lambda tp: tp.partition)
    await consumer.seek_to_beginning(*assigned)
    ends = await consumer.end_offsets(assigned)
    while not stop.is_set():
        if not caught_up.is_set() and all(
            [await _position_reached(consumer, tp, end) for tp, end in ends.items()]
        ):
            caught_up.set()
            log.info("fleet_caught_up", partitions=len(assigned))
        batches = await consumer.getmany(timeout_ms=100, max_records=5000)
        for records in batches.values():
            for record in records:
                on_record(record)


async def _position_reached(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    return end == 0 or await consumer.position(tp) >= end
