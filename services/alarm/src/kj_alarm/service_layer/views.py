"""Read side: one alarm with its story, and the command centre's board."""

import base64
import binascii
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from kj_alarm.adapters import alarm_store as store
from kj_alarm.domain.response import OPEN_STATUSES, response_seconds, target_met
from kj_alarm.service_layer.deps import Deps


class BadCursor(ValueError):
    pass


def encode_cursor(received_at: datetime, alarm_id: UUID) -> str:
    raw = orjson.dumps([received_at.isoformat(), str(alarm_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, alarm_id = orjson.loads(raw)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, UUID(alarm_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as error:
        raise BadCursor("not a cursor this service gave out") from error


def _summary(row: Any) -> dict[str, Any]:
    return {
        "alarm_id": row["alarm_id"],
        "source": row["source"],
        "source_alarm_id": row["source_alarm_id"],
        "status": row["status"],
        "category": row["category"],
        "priority": row["priority"],
        "tier": row["tier"],
        "target_seconds": row["target_seconds"],
        "location": {"lat": row["lat"], "lon": row["lon"]},
        "address": row["address"],
        "reported_at": row["reported_at"],
        "received_at": row["received_at"],
        "merged_into": row["merged_into"],
        "callers": row["callers"],
    }


async def alarm_story(
    alarm_id: UUID, deps: Deps, *, may_see: Callable[[str], bool]
) -> dict[str, Any] | None:
    """The alarm with its timeline; None when there is none the caller `may_see` (by its
    source): another integration's alarm is not found, so ids say nothing."""
    async with deps.pool.acquire() as connection:
        row = await store.find(connection, alarm_id)
        if row is None or not may_see(row["source"]):
            return None
        entries = await store.timeline(connection, alarm_id)
    on_scene = next((e["at"] for e in entries if e["kind"] == "on_scene"), None)
    seconds = response_seconds(row["received_at"], on_scene)
    return {
        **_summary(row),
        "description": row["description"],
        "response_seconds": seconds,
        "target_met": target_met(seconds, row["target_seconds"]),
        "timeline": [
            {
                "kind": e["kind"],
                "at": e["at"],
                "unit_id": e["unit_id"],
                "work_order_id": e["work_order_id"],
                "detail": e["detail"],
            }
            for e in entries
        ],
    }


@dataclass(frozen=True)
class BoardPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


async def board_page(
    deps: Deps,
    *,
    sources: Collection[str],
    status: str,
    since: datetime | None,
    limit: int,
    cursor: str | None,
) -> BoardPage:
    """A page of the board of the alarms reported by `sources` (the caller's own)."""
    statuses = sorted(OPEN_STATUSES) if status == "open" else [status]
    after = decode_cursor(cursor) if cursor else None
    rows = await store.board(
        deps.pool,
        sources=sorted(sources),
        statuses=statuses,
        since=since,
        after=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["received_at"], rows[-1]["alarm_id"]) if more else None
    return BoardPage([_summary(r) for r in rows], next_cursor)
