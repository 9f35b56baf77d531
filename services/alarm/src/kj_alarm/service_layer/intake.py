"""Taking in one alarm report: a repeat answers the first result, a different body under the
same id is a conflict; a new one is classified, merged or diverted, and written with its
timeline and outgoing messages in one transaction (the outbox) before anyone is told."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
from pydantic import BaseModel

from kj_alarm.adapters import alarm_store as store
from kj_alarm.domain.diversion import HOTLINE, is_diverted
from kj_alarm.domain.duplicates import lock_cells, merge_target
from kj_alarm.domain.tiers import Classification
from kj_alarm.service_layer import messages
from kj_alarm.service_layer.deps import Deps
from kj_schemas.alarms import AlarmReport
from kj_schemas.codec import encode
from kj_schemas.enums import AlarmStatus, ResponseTier
from kj_schemas.topics import ALARMS_ACCEPTED, ALARMS_DIVERTED, ALARMS_MERGED, ALARMS_STATUS


@dataclass(frozen=True)
class IntakeResult:
    alarm_id: UUID
    status: AlarmStatus  # accepted, merged or diverted
    tier: ResponseTier
    target_seconds: int
    merged_into: UUID | None
    created: bool  # False: a repeat of an alarm already taken in
    category: str


class ConflictingRepeat(Exception):
    """The same (source, source_alarm_id) was taken in before with a different body."""

    def __init__(self, alarm_id: UUID) -> None:
        super().__init__(f"alarm {alarm_id} was reported before with a different body")
        self.alarm_id = alarm_id


def body_digest(report: AlarmReport) -> bytes:
    """SHA-256 of the report's canonical JSON: key order and whitespace do not matter."""
    canonical = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


def _result_of(row: Any, *, created: bool) -> IntakeResult:
    status = AlarmStatus(row["status"])
    if status not in (AlarmStatus.merged, AlarmStatus.diverted):
        status = AlarmStatus.accepted  # assigned, on scene, closed: it was taken in for dispatch
    return IntakeResult(
        alarm_id=row["alarm_id"],
        status=status,
        tier=ResponseTier(row["tier"]),
        target_seconds=row["target_seconds"],
        merged_into=row["merged_into"],
        created=created,
        category=row["category"],
    )


def _repeat(row: Any, digest: bytes) -> IntakeResult:
    if bytes(row["body_sha256"]) != digest:
        raise ConflictingRepeat(row["alarm_id"])
    return _result_of(row, created=False)


async def take_in(report: AlarmReport, deps: Deps) -> IntakeResult:
    digest = body_digest(report)
    async with deps.pool.acquire() as connection:
        # No read first: a new alarm (the common case) goes straight to its transaction, and
        # the unique constraint answers for a repeat, whether it comes late or concurrently.
        try:
            return await _record_new(connection, report, digest, deps)
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name != "alarms_one_per_source_id":
                raise
        row = await store.find_by_source(connection, report.source, report.source_alarm_id)
        assert row is not None
        return _repeat(row, digest)


async def _record_new(
    connection: asyncpg.Connection, report: AlarmReport, digest: bytes, deps: Deps
) -> IntakeResult:
    lat, lon = report.location.lat, report.location.lon
    tier: Classification = deps.classifier.classify(lat, lon)
    received_at = deps.clock()
    alarm_id = uuid4()
    diverted = is_diverted(report.category)
    rule = deps.merge_rule
    # diverted calls are never merged, so they take no merge locks
    await store.begin(connection, [] if diverted else lock_cells(lat, lon, rule.distance_m))
    try:
        result = await _decide_and_write(
            connection, report, digest, deps, tier, alarm_id, received_at, diverted
        )
        await connection.execute("commit")
        return result
    except BaseException:
        if not connection.is_closed() and connection.is_in_transaction():
            await connection.execute("rollback")
        raise


async def _decide_and_write(
    connection: asyncpg.Connection,
    report: AlarmReport,
    digest: bytes,
    deps: Deps,
    tier: Classification,
    alarm_id: UUID,
    received_at: datetime,
    diverted: bool,
) -> IntakeResult:
    lat, lon = report.location.lat, report.location.lon
    rule = deps.merge_rule
    status, merged_into = AlarmStatus.accepted, None
    if diverted:
        status = AlarmStatus.diverted
    else:
        candidates = await store.open_nearby(
            connection,
            lat=lat,
            lon=lon,
            distance_m=rule.distance_m,
            reported_at=report.reported_at,
            window_s=rule.window_s,
        )
        target = merge_target(
            lat=lat,
            lon=lon,
            reported_at=report.reported_at,
            category=report.category,
            open_alarms=candidates,
            rule=rule,
        )
        if target is not None:
            status, merged_into = AlarmStatus.merged, target.alarm_id
    row: dict[str, Any] = {
        "alarm_id": alarm_id,
        "region": deps.region,
        "source": report.source,
        "source_alarm_id": report.source_alarm_id,
        "body_sha256": digest,
        "reported_at": report.reported_at,
        "received_at": received_at,
        "caller_phone": report.caller_phone,
        "lat": lat,
        "lon": lon,
        "address": report.address,
        "category": str(report.category),
        "priority": report.priority,
        "description": report.description,
        "tier": str(tier.tier),
        "target_seconds": tier.target_seconds,
        "status": str(status),
        "merged_into": merged_into,
    }
    timeline: list[Any] = [
        (alarm_id, "received", received_at, None, None, {"source": report.source}),
        (
            alarm_id,
            "classified",
            received_at,
            None,
            None,
            {
                "tier": str(tier.tier),
                "zone_id": tier.zone_id,
                "target_seconds": tier.target_seconds,
            },
        ),
    ]
    outgoing: list[tuple[str, str, BaseModel]] = []
    if status is AlarmStatus.merged:
        assert merged_into is not None
        callers = await store.add_callers(connection, merged_into, +1)
        timeline.append(
            (
                alarm_id,
                "merged",
                received_at,
                None,
                None,
                {"merged_into": str(merged_into), "callers": callers},
            )
        )
        timeline.append(
            (
                merged_into,
                "caller_added",
                received_at,
                None,
                None,
                {"alarm_id": str(alarm_id), "callers": callers},
            )
        )
        message = messages.merged(row, merged_into=merged_into, callers=callers)
        outgoing.append((ALARMS_MERGED.name, deps.region, message))
    elif status is AlarmStatus.diverted:
        timeline.append((alarm_id, "diverted", received_at, None, None, {"hotline": HOTLINE}))
        outgoing.append((ALARMS_DIVERTED.name, deps.region, messages.diverted(row)))
    else:
        outgoing.append((ALARMS_ACCEPTED.name, deps.region, messages.accepted(row)))
    update = messages.status_changed(row, status, received_at)
    outgoing.append((ALARMS_STATUS.name, str(alarm_id), update))
    outbox = deps.outbox
    await store.record_new_alarm(
        connection,
        row,
        timeline,
        [(outbox.topic_prefix + topic, key.encode(), encode(m)) for topic, key, m in outgoing],
        stream=outbox.stream,
        channel=outbox.channel,
    )
    return _result_of(row, created=True)
