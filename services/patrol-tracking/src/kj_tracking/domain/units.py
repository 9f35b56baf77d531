"""What tracking knows about each unit, kept compact: one `__slots__` object per unit (about
300 bytes, see the benchmark), looked up by id in one dict."""

from datetime import UTC, datetime
from typing import NamedTuple

from kj_schemas.enums import UnitStatus

# statuses in which a unit holds an open work order
BUSY = frozenset(
    {UnitStatus.assigned, UnitStatus.en_route, UnitStatus.on_scene, UnitStatus.returning}
)


class Fix(NamedTuple):
    """A decoded GPS fix. `ts` is the fix time in epoch seconds. A tuple: one is built per
    ping, and a tuple is the cheapest immutable object to build."""

    unit_id: str
    ts: float
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None


# the fix time of a unit that has none yet
NO_FIX = datetime(1970, 1, 1, tzinfo=UTC)


class Post(NamedTuple):
    """A post a unit was sent to patrol (有警出警、无警巡逻), with its order; `reached` once the
    unit's fixes came within the post's radius."""

    order_id: str
    post_id: str
    lat: float
    lon: float
    radius_m: float
    reached: bool = False


class UnitTrack:
    """The live state of one unit. `fix_at` is the fix time of its latest trusted fix, kept
    as the decoded datetime: comparing two costs a tenth of converting one to epoch seconds,
    and the hot path only compares. `NO_FIX` until the first."""

    __slots__ = (
        "checkin_done",
        "checkpoint_id",
        "dwell_since",
        "fix_at",
        "heading_deg",
        "kept_at",
        "kept_lat",
        "kept_lon",
        "kind",
        "lat",
        "lon",
        "platform_id",
        "post",
        "published_lat",
        "published_lon",
        "published_status",
        "published_ts",
        "returning_since",
        "scene_lat",
        "scene_lon",
        "seen_at",
        "speed_kmh",
        "status",
        "status_before_lost",
        "unit_id",
        "work_order_id",
    )

    def __init__(self, unit_id: str, platform_id: str, kind: str) -> None:
        self.unit_id = unit_id
        self.platform_id = platform_id
        self.kind = kind
        self.status: UnitStatus = UnitStatus.available
        self.status_before_lost: UnitStatus | None = None
        self.lat = 0.0
        self.lon = 0.0
        self.speed_kmh: float | None = None
        self.heading_deg: float | None = None
        self.fix_at = NO_FIX
        self.seen_at = 0.0  # receive time of the latest trusted fix
        self.work_order_id: str | None = None
        self.scene_lat: float | None = None
        self.scene_lon: float | None = None
        self.returning_since: float | None = None
        self.checkpoint_id: str | None = None
        self.post: Post | None = None  # the post it patrols or drives to (a reposition)
        self.dwell_since = NO_FIX
        self.checkin_done = False
        self.published_lat = 0.0
        self.published_lon = 0.0
        self.published_ts = 0.0  # receive time of the last publication
        self.published_status: UnitStatus | None = None
        # the fix last kept in the stored track (publication.worth_keeping)
        self.kept_at: datetime | None = None
        self.kept_lat = 0.0
        self.kept_lon = 0.0

    @property
    def has_fix(self) -> bool:
        return self.fix_at is not NO_FIX

    @property
    def fix_ts(self) -> float:
        """The latest trusted fix time in epoch seconds (0.0 without one)."""
        return self.fix_at.timestamp()

    def move_to(self, fix: Fix, received_at: float) -> None:
        at = datetime.fromtimestamp(fix.ts, UTC)
        self.move(at, fix.lat, fix.lon, fix.speed_kmh, fix.heading_deg, received_at)

    def move(
        self,
        at: datetime,
        lat: float,
        lon: float,
        speed_kmh: float | None,
        heading_deg: float | None,
        received_at: float,
    ) -> None:
        """The unit is where a trusted fix says (the hot path's form: no `Fix` built)."""
        self.lat = lat
        self.lon = lon
        self.speed_kmh = speed_kmh
        self.heading_deg = heading_deg
        self.fix_at = at
        self.seen_at = received_at


def registry(units: list[tuple[str, str, str]]) -> dict[str, UnitTrack]:
    """One `UnitTrack` per (unit id, platform id, kind)."""
    return {unit_id: UnitTrack(unit_id, platform, kind) for unit_id, platform, kind in units}
