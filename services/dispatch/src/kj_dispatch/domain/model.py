"""The plain data the dispatch policy reasons over: calls waiting for units, units of the fleet,
and the decisions taken. No Kafka, no SQL."""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from kj_schemas.enums import AlarmCategory, ResponseTier, UnitKind


@dataclass(frozen=True, slots=True)
class Call:
    """An alarm that needs units: where, how urgent, and its response target."""

    alarm_id: UUID
    lat: float
    lon: float
    priority: int
    category: AlarmCategory
    tier: ResponseTier
    target_s: float
    reported_at: datetime
    # when the platform received the 110 instruction: the 1/3/5 clock starts here when known
    # (the citizen's call, reported_at, is earlier by the 110 centre's handling)
    received_at: datetime | None = None

    @property
    def clock_start(self) -> datetime:
        return self.received_at or self.reported_at


@dataclass(frozen=True, slots=True)
class Commitment:
    """What a busy unit is doing: enough to judge whether it may be preempted."""

    work_order_id: UUID
    alarm_id: UUID
    priority: int
    role: str
    status: str


@dataclass(slots=True)
class FleetUnit:
    unit_id: str
    platform_id: str
    kind: UnitKind
    lat: float
    lon: float
    fix_at: datetime
    on_patrol: bool  # the unit's own status says it can take a call (available or returning)
    commitment: Commitment | None = None  # an open work order of ours
    held_elsewhere: bool = False  # another dispatcher's work order holds it (seen in the DB)
    unresponsive_until: datetime | None = None
    stood_down: bool = False  # a dispatcher put it off duty or out of service (issue 17)
    fix_ts: float = field(init=False, default=0.0)  # fix_at as epoch seconds, for speed
    at_post: bool = False  # patrolling at the post it was sent to (patrol tracking says so)

    def __post_init__(self) -> None:
        self.fix_ts = self.fix_at.timestamp()

    def on_patrol_or_busy(self) -> bool:
        """Reachable at all: not off duty or out of contact."""
        return not self.stood_down and (self.on_patrol or self.commitment is not None)

    def dispatchable(self, now: datetime) -> bool:
        if not self.on_patrol or self.commitment is not None or self.held_elsewhere:
            return False
        if self.stood_down:
            return False
        return self.unresponsive_until is None or self.unresponsive_until <= now


@dataclass(slots=True)  # not frozen: built for every candidate of every query, kept cheap
class Option:
    """One unit that could go to one call, with its estimated time to the scene."""

    unit_id: str
    platform_id: str
    kind: UnitKind
    eta_s: float
    stale: bool = False
    preempts: Commitment | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    call: Call
    option: Option
    role: str  # primary | backup
    reason: str
    runner_up: Option | None
    at_risk: bool


@dataclass(frozen=True, slots=True)
class Shortfall:
    call: Call
    reason: str  # none_in_range | all_busy | locations_stale


@dataclass(slots=True)
class Decision:
    assignments: list[Assignment] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
