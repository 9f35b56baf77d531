"""Repositions (有警出警、无警巡逻; decision 0063): the posts this process has sent its units to,
one open at most per unit, and each unit's moves in the last hour (the planner's budget). A
reposition keeps its unit free for calls; a call's work order ends it. No Kafka, no SQL."""

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

_HOUR = timedelta(hours=1)
PATROL_RADIUS_M = 100  # a post is patrolled, not parked: within this of it (the study's)


@dataclass(frozen=True, slots=True)
class OpenReposition:
    work_order_id: UUID
    unit_id: str
    platform_id: str
    post_id: str
    lat: float
    lon: float
    region: str
    reason: str  # shift_plan | freed | move_up
    issued_at: datetime


class Repositions:
    def __init__(self) -> None:
        self._open: dict[str, OpenReposition] = {}  # unit id -> its open reposition
        self._moves: dict[str, deque[datetime]] = {}  # unit id -> when it was moved, last hour

    def __len__(self) -> int:
        return len(self._open)

    def of(self, unit_id: str) -> OpenReposition | None:
        return self._open.get(unit_id)

    def all(self) -> list[OpenReposition]:
        return list(self._open.values())

    def opened(self, reposition: OpenReposition, *, counts: bool = True) -> None:
        """The unit was sent to a post (`counts`: against its budget of moves an hour)."""
        self._open[reposition.unit_id] = reposition
        if counts:
            self._moves.setdefault(reposition.unit_id, deque()).append(reposition.issued_at)

    def ended(self, unit_id: str) -> OpenReposition | None:
        """A call took the unit, or the reposition was withdrawn."""
        return self._open.pop(unit_id, None)

    def moves_last_hour(self, unit_id: str, now: datetime) -> int:
        moves = self._moves.get(unit_id)
        if not moves:
            return 0
        while moves and moves[0] <= now - _HOUR:
            moves.popleft()
        return len(moves)

    def drop_region(self, region: str) -> list[OpenReposition]:
        gone = [r for r in self._open.values() if r.region == region]
        for reposition in gone:
            del self._open[reposition.unit_id]
        return gone
