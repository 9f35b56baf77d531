"""What the verifier reads back after the run: the record in PostgreSQL, the messages on the
topics, and where each consumer group's committed offsets stand. Plain data out."""

import asyncio
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from kj_runtime.db import connect
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.topics import (
    ALARMS_ACCEPTED,
    ALARMS_DIVERTED,
    ALARMS_INTAKE,
    ALARMS_STATUS,
    DEADLETTERS,
    DISPATCH_NOTICES,
    DISPATCH_WORKORDERS,
    NOTIFY_BROADCASTS,
    PATROL_PINGS,
    UNITS_STATE,
    WORKORDERS_EVENTS,
    by_name,
)
from kj_sim.chaos.rules import OrderSpan

# who reads each consumed topic in a consumer group (from the services' bootstraps); groups
# found on the broker with offsets on a topic are added. `units.state` is read without a
# group (dispatch's fleet view, tracking's restore): no offsets say how far they got.
_TRACKING_WORKORDERS = f"patrol-tracking-workorders-{socket.gethostname()}"
READERS: dict[str, tuple[str, ...]] = {
    ALARMS_INTAKE.name: ("alarm-intake",),
    ALARMS_ACCEPTED.name: ("dispatch",),
    ALARMS_STATUS.name: ("notify-callbacks",),
    PATROL_PINGS.name: ("patrol-tracking",),
    UNITS_STATE.name: (),
    DISPATCH_WORKORDERS.name: ("notify-workorders", "alarm-timeline", _TRACKING_WORKORDERS),
    WORKORDERS_EVENTS.name: ("dispatch.events", "alarm-timeline", _TRACKING_WORKORDERS),
    NOTIFY_BROADCASTS.name: ("notify-broadcasts",),
}


def service_of(group: str) -> str:
    """The service a consumer group belongs to, as its dead letters name it."""
    for prefix, service in (
        ("alarm-", "alarm"),
        ("dispatch", "dispatch"),
        ("notify-", "notify"),
        ("patrol-tracking", "patrol_tracking"),
    ):
        if group.startswith(prefix):
            return service
    return group


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


@dataclass
class Record:
    """The record as PostgreSQL holds it at the end of the run."""

    alarms: dict[str, asyncpg.Record] = field(default_factory=dict)  # alarm id -> row
    dispatched: set[str] = field(default_factory=set)  # alarm ids dispatch recorded
    orders: list[OrderSpan] = field(default_factory=list)
    delivered_orders: set[str] = field(default_factory=set)  # work orders sent to terminals


async def read_record(settings: PostgresSettings) -> Record:
    connection = await connect(settings)
    try:
        alarms = await connection.fetch(
            """select alarm_id::text, source_alarm_id, status, received_at, target_seconds,
                      merged_into::text, tier from alarms"""
        )
        dispatched = await connection.fetch("select alarm_id::text from dispatch_alarms")
        rows = await connection.fetch(
            """select w.*, w.work_order_id::text as wid, w.alarm_id::text as aid,
                      (select min(e.recorded_at) from work_order_events e
                        where e.work_order_id = w.work_order_id and e.kind = 'rejected')
                        as rejected_at
               from work_orders w"""
        )
        delivered = await connection.fetch(
            "select distinct work_order_id::text from terminal_deliveries where action = 'assign'"
        )
    finally:
        await connection.close()
    record = Record(
        alarms={row["alarm_id"]: row for row in alarms},
        dispatched={row["alarm_id"] for row in dispatched},
        delivered_orders={row["work_order_id"] for row in delivered},
    )
    for row in rows:
        ended = row["closed_at"] or row["withdrawn_at"] or row["rejected_at"]
        if ended is None and row["status"] in ("closed", "withdrawn", "rejected"):
            ended = row["issued_at"]  # ended, time unknown: the shortest span it can have had
        record.orders.append(
            OrderSpan(
                work_order_id=row["wid"],
                alarm_id=row["aid"],
                unit_id=row["unit_id"],
                role=row["role"],
                issued_at=row["issued_at"].timestamp(),
                accept_by=row["accept_by"].timestamp(),
                engaged=any(
                    row[c] is not None for c in ("accepted_at", "en_route_at", "on_scene_at")
                ),
                served_at=_ts(row["on_scene_at"] or row["closed_at"]),
                closed_at=_ts(row["closed_at"]),
                ended_at=_ts(ended),
                withdraw_reason=row["withdraw_reason"],
            )
        )
    return record


async def read_topic(kafka: KafkaSettings, name: str, *, deadline_s: float = 60) -> list[Any]:
    """Every record of a topic from the beginning to its end offsets now."""
    spec = by_name(name)
    topic = kafka.topic(name)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        partitions = [TopicPartition(topic, p) for p in range(spec.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(deadline_s):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200, max_records=5000)).values():
                    records += batch
    finally:
        await consumer.stop()
    return records


def _json(value: bytes | None) -> dict[str, Any] | None:
    try:
        data = orjson.loads(value) if value else None
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Topics:
    notices: dict[str, list[float]] = field(default_factory=dict)  # alarm id -> notice times
    diverted: set[str] = field(default_factory=set)  # alarm ids handed to 12345
    # (topic, partition, offset) -> the services that dead-lettered that record
    dead_letters: dict[tuple[str, int, int], set[str]] = field(default_factory=dict)
    ends: dict[tuple[str, int], int] = field(default_factory=dict)
    committed: dict[tuple[str, str, int], int] = field(default_factory=dict)
    readers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def passed(self) -> dict[str, set[tuple[str, int, int]]]:
        """group -> the records its service dead-lettered (it went past them)."""
        groups = {g for gs in self.readers.values() for g in gs}
        return {
            group: {
                place
                for place, services in self.dead_letters.items()
                if service_of(group) in services
            }
            for group in groups
        }


async def read_topics(kafka: KafkaSettings) -> Topics:
    found = Topics()
    for record in await read_topic(kafka, DISPATCH_NOTICES.name):
        notice = _json(record.value)
        if notice and notice.get("alarm_id"):
            at = datetime.fromisoformat(notice["at"]).timestamp()
            found.notices.setdefault(notice["alarm_id"], []).append(at)
    for record in await read_topic(kafka, ALARMS_DIVERTED.name):
        diverted = _json(record.value)
        if diverted and diverted.get("alarm_id"):
            found.diverted.add(diverted["alarm_id"])
    for record in await read_topic(kafka, DEADLETTERS.name):
        letter = _json(record.value)
        if letter and "offset" in letter:
            place = (
                str(letter["source_topic"]).removeprefix(kafka.topic_prefix),
                int(letter["partition"]),
                int(letter["offset"]),
            )
            found.dead_letters.setdefault(place, set()).add(str(letter.get("service")))
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(kafka.topic(name), p)
            for name in READERS
            for p in range(by_name(name).partitions)
        ]
        for tp, end in (await consumer.end_offsets(partitions)).items():
            found.ends[(tp.topic.removeprefix(kafka.topic_prefix), tp.partition)] = end
    finally:
        await consumer.stop()
    found.committed, discovered = await _committed(kafka)
    found.readers = {
        name: tuple(sorted(set(groups) | discovered.get(name, set())))
        for name, groups in READERS.items()
    }
    return found


async def _committed(
    kafka: KafkaSettings,
) -> tuple[dict[tuple[str, str, int], int], dict[str, set[str]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=15_000)
    await admin.start()
    committed: dict[tuple[str, str, int], int] = {}
    discovered: dict[str, set[str]] = {}
    try:
        groups = [g[0] for g in await admin.list_consumer_groups()]
        for group in sorted(set(groups) | {g for gs in READERS.values() for g in gs}):
            offsets = await admin.list_consumer_group_offsets(group)
            for tp, meta in offsets.items():
                name = tp.topic.removeprefix(kafka.topic_prefix)
                if name in READERS and meta.offset >= 0:
                    committed[(group, name, tp.partition)] = meta.offset
                    discovered.setdefault(name, set()).add(group)
    finally:
        await admin.close()
    return committed, discovered
