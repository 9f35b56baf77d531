"""What becomes of each report of an intake batch, decided in arrival order over plain data:

- a repeat of a recorded alarm (same source and source_alarm_id) answers that alarm's first
  result, or is a conflict when its body differs;
- a new report is classified (its 1/3/5 tier) and becomes an alarm that is diverted to the
  12345 hotline when it is not a police matter, merged into the open incident it repeats
  (recorded, or earlier in the same batch), or accepted for dispatch.

Nothing here waits or writes: the service layer reads what the batch needs, calls `decide`,
and writes the new alarms in one transaction."""

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from kj_alarm.domain.diversion import is_diverted
from kj_alarm.domain.duplicates import MergeRule, OpenAlarm, merge_target, search_box
from kj_alarm.domain.tiers import Classification, TierClassifier
from kj_schemas.alarms import AlarmReport
from kj_schemas.enums import AlarmStatus, ResponseTier


def body_digest(report: AlarmReport) -> bytes:
    """SHA-256 of the report's canonical JSON: key order and whitespace do not matter."""
    canonical = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


@dataclass(slots=True)  # made for every alarm: not frozen, which costs twice as much to make
class Incoming:
    """A report as it was handed in: its body's digest and when the service received it."""

    report: AlarmReport
    digest: bytes
    received_at: datetime


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


@dataclass
class NewAlarm:
    """A report of the batch that becomes an alarm: its row as it will be written."""

    row: dict[str, Any]
    tier: Classification
    callers_seen: int = 0  # a merged alarm: the incident's callers counting this one (0: unknown)


Outcome = NewAlarm | IntakeResult | ConflictingRepeat


@dataclass(frozen=True)
class BatchDecision:
    outcomes: list[Outcome]  # one per report, in the batch's order
    fresh: list[NewAlarm]  # the new alarms to write, in order


def result_of(row: Mapping[str, Any], *, created: bool) -> IntakeResult:
    """The answer for an alarm's row (alarm_id, status, tier, target_seconds, merged_into,
    category)."""
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


def answer_to_repeat(recorded: Mapping[str, Any], digest: bytes) -> IntakeResult:
    """The first result again for a repeat with the same body; raises ConflictingRepeat for
    another body. `recorded` is the alarm's row with its `body_sha256`."""
    if bytes(recorded["body_sha256"]) != digest:
        raise ConflictingRepeat(recorded["alarm_id"])
    return result_of(recorded, created=False)


def decide(
    batch: Sequence[Incoming],
    recorded: Mapping[tuple[str, str], Mapping[str, Any]],
    open_nearby: Sequence[OpenAlarm],
    classifier: TierClassifier,
    *,
    rule: MergeRule,
    region: str,
    new_id: Callable[[], UUID] = uuid4,
) -> BatchDecision:
    """`recorded`: the rows already recorded under any (source, source_alarm_id) of the batch;
    `open_nearby`: the open alarms that any police report of the batch may repeat. An accepted
    alarm of the batch is a candidate for the reports after it."""
    candidates = list(open_nearby)
    fresh: list[NewAlarm] = []
    outcomes: list[Outcome] = []
    by_id: dict[UUID, NewAlarm] = {}
    tiers = iter(
        classifier.classify_many(
            [
                (i.report.location.lat, i.report.location.lon)
                for i in batch
                if (i.report.source, i.report.source_alarm_id) not in recorded
            ]
        )
    )
    for incoming in batch:
        report = incoming.report
        found = recorded.get((report.source, report.source_alarm_id))
        if found is not None:
            try:
                outcomes.append(answer_to_repeat(found, incoming.digest))
            except ConflictingRepeat as conflict:
                outcomes.append(conflict)
            continue
        lat, lon = report.location.lat, report.location.lon
        tier = next(tiers)
        status, merged_into = AlarmStatus.accepted, None
        if is_diverted(report.category):
            status = AlarmStatus.diverted
        else:
            min_lat, max_lat, min_lon, max_lon = search_box(lat, lon, rule.distance_m)
            target = merge_target(
                lat=lat,
                lon=lon,
                reported_at=report.reported_at,
                category=report.category,
                # the batch's candidates are every alarm's neighbours: keep this one's
                open_alarms=[
                    c
                    for c in candidates
                    if min_lat <= c.lat <= max_lat and min_lon <= c.lon <= max_lon
                ],
                rule=rule,
            )
            if target is not None:
                status, merged_into = AlarmStatus.merged, target.alarm_id
        alarm_id = new_id()
        row: dict[str, Any] = {
            "alarm_id": alarm_id,
            "region": region,
            "source": report.source,
            "source_alarm_id": report.source_alarm_id,
            "body_sha256": incoming.digest,
            "reported_at": report.reported_at,
            "received_at": incoming.received_at,
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
            "callers": 1,
        }
        new = NewAlarm(row, tier)
        if status is AlarmStatus.accepted:  # later calls of the batch may merge into it
            candidates.append(OpenAlarm(alarm_id, lat, lon, report.reported_at, report.category))
            by_id[alarm_id] = new
        elif merged_into in by_id:
            parent = by_id[merged_into]
            parent.row["callers"] += 1
            new.callers_seen = parent.row["callers"]
        fresh.append(new)
        outcomes.append(new)
    return BatchDecision(outcomes, fresh)
