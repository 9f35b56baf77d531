"""What an integration's update or cancel does to an alarm it reported, decided over plain data
(issue 19, decision 0115):

- only an open alarm (accepted, assigned, on scene) changes; a merged, diverted or closed one
  is refused with the reason (a merged call is updated through the incident it joined);
- a corrected location is classified again (its 1/3/5 tier and target may change), and when it
  moved beyond the set distance dispatch plans the call again; nearer, the units keep it;
- a supplementary description is added to what the alarm says, never replacing it;
- more callers add to the incident's count;
- a cancel closes the alarm with its reason; dispatch withdraws every open work order.

A repeat of an update id is the same update: its digest says whether the body is the same."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kj_alarm.domain.response import OPEN_STATUSES
from kj_alarm.domain.tiers import Classification
from kj_schemas.alarms import AlarmChanges, CancelRequest
from kj_schemas.enums import AlarmStatus, ResponseTier
from kj_schemas.geo import haversine_m

DESCRIPTION_MAX = 2000  # LongText's bound: what the alarm's record and its messages hold
SUPPLEMENT_MARK = "\n[补充] "


class UpdateRefused(Exception):
    """The update cannot apply to the alarm as it is: a reason code and a sentence."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def update_digest(change: AlarmChanges | CancelRequest) -> bytes:
    """SHA-256 of the update's canonical JSON, without the alarm it names (HTTP names it in the
    path, Kafka in the body: the same update either way)."""
    body = change.model_dump(
        mode="json", exclude={"source", "source_alarm_id", "schema_version"}, exclude_none=True
    )
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).digest()


@dataclass(frozen=True)
class AlarmNow:
    """The alarm's facts an update may change, as recorded."""

    status: AlarmStatus
    lat: float
    lon: float
    address: str | None
    priority: int
    description: str | None
    callers: int
    tier: ResponseTier
    target_seconds: int


@dataclass(frozen=True)
class UpdatePlan:
    """The alarm after the update, what changed (for its timeline), and what dispatch does."""

    after: AlarmNow
    changes: dict[str, Any] = field(default_factory=dict)
    moved_m: float | None = None
    replan: bool = False

    @property
    def tier_changed(self) -> bool:
        return "tier" in self.changes

    @property
    def dispatch_concerned(self) -> bool:
        """Dispatch plans with the place, the tier and the priority: it hears of these."""
        return bool({"location", "priority", "tier"} & set(self.changes))


def _open(now: AlarmNow) -> None:
    if now.status is AlarmStatus.merged:
        raise UpdateRefused(
            "alarm_merged", "the alarm was merged into an open incident: update that incident"
        )
    if now.status not in OPEN_STATUSES:
        raise UpdateRefused("alarm_not_open", f"the alarm is {now.status}: it cannot change")


def plan_update(
    now: AlarmNow,
    change: AlarmChanges,
    *,
    classify: Callable[[float, float], Classification],
    replan_beyond_m: float,
) -> UpdatePlan:
    """What `change` does to the alarm `now`; raises UpdateRefused."""
    _open(now)
    after: dict[str, Any] = {name: getattr(now, name) for name in AlarmNow.__dataclass_fields__}
    changes: dict[str, Any] = {}
    moved_m: float | None = None
    replan = False
    if change.location is not None:
        lat, lon = change.location.lat, change.location.lon
        moved_m = haversine_m(now.lat, now.lon, lat, lon)
        if moved_m > 0:
            after |= {"lat": lat, "lon": lon}
            changes["location"] = {"lat": lat, "lon": lon, "moved_m": round(moved_m, 1)}
            tier = classify(lat, lon)
            if tier.tier is not now.tier or tier.target_seconds != now.target_seconds:
                after |= {"tier": tier.tier, "target_seconds": tier.target_seconds}
                changes["tier"] = {
                    "from": str(now.tier),
                    "to": str(tier.tier),
                    "target_seconds": tier.target_seconds,
                }
            replan = moved_m > replan_beyond_m
    if change.address is not None and change.address != now.address:
        after["address"] = change.address
        changes["address"] = change.address
    if change.priority is not None and change.priority != now.priority:
        after["priority"] = change.priority
        changes["priority"] = {"from": now.priority, "to": change.priority}
    if change.description is not None:
        text = (
            change.description
            if not now.description
            else now.description + SUPPLEMENT_MARK + change.description
        )
        if len(text) > DESCRIPTION_MAX:
            raise UpdateRefused(
                "description_full",
                f"the description with this supplement would be {len(text)} characters; "
                f"an alarm holds at most {DESCRIPTION_MAX}",
            )
        after["description"] = text
        changes["description"] = change.description
    if change.more_callers is not None:
        after["callers"] = now.callers + change.more_callers
        changes["more_callers"] = change.more_callers
    return UpdatePlan(AlarmNow(**after), changes, moved_m, replan)


def plan_cancel(now: AlarmNow, cancel: CancelRequest) -> AlarmNow:
    """The alarm after `cancel`: closed; raises UpdateRefused when it is not open."""
    _open(now)
    return AlarmNow(**{**now.__dict__, "status": AlarmStatus.closed})
