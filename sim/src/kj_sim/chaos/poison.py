"""Poison records on every topic a service consumes: a 1 MB record, a NUL character in an
otherwise valid message (PostgreSQL refuses NUL in text and in jsonb), bytes that are not JSON,
JSON of the wrong shape, and a tombstone. Each goes to a partition that real traffic uses, and
where a valid record of the run's own can do no harm it follows each poison record on the same
partition, so that every reader has a later record to get to (a work order withdrawn that no
unit holds, an answer to it, a status change and a broadcast that reach no one, an ordinary
alarm). `alarms.accepted` and `units.state` get none: an alarm dispatch would send a unit to,
a position a unit is not at; real traffic follows there."""

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from kj_runtime.kafka import make_consumer
from kj_runtime.settings import KafkaSettings
from kj_schemas.examples import EXAMPLES
from kj_schemas.topics import (
    ALARMS_ACCEPTED,
    ALARMS_INTAKE,
    ALARMS_STATUS,
    DISPATCH_WORKORDERS,
    NOTIFY_BROADCASTS,
    PATROL_PINGS,
    UNITS_STATE,
    WORKORDERS_EVENTS,
    TopicSpec,
)
from kj_sim.chaos.ledger import PoisonRecord

KINDS = ("one_mb", "nul", "invalid_json", "wrong_schema", "tombstone")
CONSUMED = (
    ALARMS_INTAKE,
    ALARMS_ACCEPTED,
    ALARMS_STATUS,
    PATROL_PINGS,
    UNITS_STATE,
    DISPATCH_WORKORDERS,
    WORKORDERS_EVENTS,
    NOTIFY_BROADCASTS,
)
# topics where a valid record of the run's own follows each poison record
SENTINELS = {
    ALARMS_INTAKE.name,
    ALARMS_STATUS.name,
    DISPATCH_WORKORDERS.name,
    WORKORDERS_EVENTS.name,
    NOTIFY_BROADCASTS.name,
}
QUIET = {ALARMS_INTAKE.name, NOTIFY_BROADCASTS.name}  # no load writes to them
ONE_MB = 1_000_000
# where a NUL goes: free text the contract allows (the message stays valid), else an id
TEXT_FIELDS = ("description", "text", "address")
ID_TEXT_FIELDS = ("unit_id", "source_alarm_id")
TIME_FIELDS = (
    "ts",
    "reported_at",
    "received_at",
    "at",
    "fix_at",
    "last_seen_at",
    "issued_at",
    "occurred_at",
    "requested_at",
)
ID_FIELDS = ("alarm_id", "work_order_id", "broadcast_id", "notification_id")


def _example(model: type[BaseModel]) -> dict[str, Any]:
    return next(dict(example.valid) for example in EXAMPLES if example.model is model)


def valid_message(spec: TopicSpec) -> dict[str, Any]:
    """The topic's contract example with fresh ids and times (a new message, not a repeat)."""
    body = _example(spec.value)
    now = datetime.now(UTC).isoformat()
    for name in TIME_FIELDS:
        if name in body:
            body[name] = now
    for name in ID_FIELDS:
        if name in body:
            body[name] = str(uuid.uuid4())
    if "source_alarm_id" in body:
        body["source_alarm_id"] = f"CHAOS-{uuid.uuid4().hex[:16]}"
    if spec is DISPATCH_WORKORDERS:  # harmless if taken: a withdrawal of an order nobody holds
        body |= {"action": "withdraw", "withdraw_reason": "chaos_sentinel"}
    if spec is NOTIFY_BROADCASTS:  # reaches no one: a 1 m radius
        body["radius_m"] = 1.0
    if spec is ALARMS_INTAKE:  # an ordinary alarm, not a priority-1 one
        body |= {"category": "theft", "priority": 3}
    return body


def key_of(spec: TopicSpec, body: dict[str, Any]) -> bytes:
    """The key the contract names (the record's key must match its message where checked)."""
    if spec is ALARMS_INTAKE:
        return f"{body['source']}:{body['source_alarm_id']}".encode()
    return str(body.get(spec.key, "chaos")).encode()


def with_nul(spec: TopicSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The message with a NUL inside a free-text field it may carry (refused by PostgreSQL in
    text and jsonb, and by the contracts' text types since decision 0076), or inside an id when
    it has no free text."""
    for name in TEXT_FIELDS:
        if name in spec.value.model_fields:
            return body | {name: "有人\x00要跳河"}
    for name in ID_TEXT_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and value:
            return body | {name: value[:1] + "\x00" + value[1:]}
    return body | {"description": "\x00"}


def poison_value(kind: str, spec: TopicSpec) -> tuple[bytes, bytes | None]:
    """(key, value) of one poison record for the topic."""
    body = valid_message(spec)
    key = key_of(spec, body)
    if kind == "one_mb":
        return key, orjson.dumps(body | {"padding": "x" * ONE_MB})
    if kind == "nul":
        return key, orjson.dumps(with_nul(spec, body))
    if kind == "invalid_json":
        return key, b'{"chaos": "this record ends before it clo'
    if kind == "wrong_schema":
        return key, orjson.dumps({"schema_version": 1, "message_id": str(uuid.uuid4()), "chaos": 1})
    if kind == "tombstone":
        return key, None
    raise ValueError(f"no poison kind {kind!r}")


async def busy_partitions(kafka: KafkaSettings, spec: TopicSpec) -> list[int]:
    """Partitions that already hold records (real traffic goes there), else all of them."""
    consumer = make_consumer(kafka, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(kafka.topic(spec.name), p) for p in range(spec.partitions)]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    busy = sorted(tp.partition for tp, end in ends.items() if end > 0)
    return busy or list(range(spec.partitions))


async def inject(producer: AIOKafkaProducer, kafka: KafkaSettings) -> list[PoisonRecord]:
    """Every kind on every consumed topic, spread over the partitions real traffic uses (any
    partition of a quiet topic), each followed by a valid record where that is harmless."""
    injected: list[PoisonRecord] = []
    for spec in CONSUMED:
        partitions = (
            list(range(spec.partitions))
            if spec.name in QUIET
            else await busy_partitions(kafka, spec)
        )
        for i, kind in enumerate(KINDS):
            partition = partitions[i % len(partitions)]
            key, value = poison_value(kind, spec)
            topic = kafka.topic(spec.name)
            sent = await (await producer.send(topic, value, key=key, partition=partition))
            injected.append(PoisonRecord(spec.name, partition, sent.offset, kind, time.time()))
            if spec.name in SENTINELS:
                body = valid_message(spec)
                await (
                    await producer.send(
                        topic, orjson.dumps(body), key=key_of(spec, body), partition=partition
                    )
                )
    return injected
