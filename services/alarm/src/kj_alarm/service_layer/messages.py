"""The outgoing messages of an alarm, built from its row. One place decides what each says."""

from datetime import datetime
from typing import Any
from uuid import UUID

from kj_schemas.alarms import (
    AlarmAccepted,
    AlarmDiverted,
    AlarmMerged,
    AlarmStatusChanged,
    Amendment,
)
from kj_schemas.base import GeoPoint
from kj_schemas.enums import AlarmStatus


def _facts(row: Any) -> dict[str, Any]:
    return {
        "alarm_id": row["alarm_id"],
        "region": row["region"],
        "source": row["source"],
        "source_alarm_id": row["source_alarm_id"],
        "reported_at": row["reported_at"],
        "received_at": row["received_at"],
        "location": GeoPoint(lat=row["lat"], lon=row["lon"]),
        "category": row["category"],
        "priority": row["priority"],
    }


def _scene(row: Any) -> dict[str, Any]:
    return {"address": row["address"], "description": row["description"]}


def accepted(row: Any, *, amendment: Amendment | None = None) -> AlarmAccepted:
    """For dispatch: the scene, not the caller (no phone number, decision 0077); again with
    the `amendment` when an update or cancel changed the alarm (decision 0115)."""
    return AlarmAccepted(
        **_facts(row),
        **_scene(row),
        tier=row["tier"],
        target_seconds=row["target_seconds"],
        amendment=amendment,
    )


def merged(row: Any, *, merged_into: UUID, callers: int) -> AlarmMerged:
    return AlarmMerged(**_facts(row), merged_into=merged_into, callers=callers)


def diverted(row: Any) -> AlarmDiverted:
    """For the 12345 hotline, which calls the citizen back: the caller's number goes with it."""
    return AlarmDiverted(**_facts(row), **_scene(row), caller_phone=row["caller_phone"])


def status_changed(
    row: Any,
    status: AlarmStatus,
    at: datetime,
    *,
    unit_id: str | None = None,
    work_order_id: UUID | None = None,
    reason: str | None = None,
    update_id: str | None = None,
) -> AlarmStatusChanged:
    return AlarmStatusChanged(
        alarm_id=row["alarm_id"],
        source=row["source"],
        source_alarm_id=row["source_alarm_id"],
        status=status,
        at=at,
        unit_id=unit_id,
        work_order_id=work_order_id,
        reason=reason,
        update_id=update_id,
    )
