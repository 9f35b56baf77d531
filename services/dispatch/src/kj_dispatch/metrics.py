"""Dispatch's Prometheus metrics. Labels are bounded: tier (4), platform (33 per city),
reason and outcome codes; never an alarm or unit id."""

from prometheus_client import Counter, Gauge, Histogram

from kj_runtime import series
from kj_schemas.enums import ResponseTier

RESPONSE_SECONDS = Histogram(
    "kj_dispatch_response_seconds",
    "The 110 instruction received by the platform to police on scene (judged against the tier "
    "target), by tier; per platform, kj_dispatch_target_total counts met and missed",
    ["tier"],
    buckets=(30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1800),
)
CITIZEN_WAIT_SECONDS = Histogram(
    "kj_dispatch_citizen_wait_seconds",
    "The citizen's call to police on scene (the 110 centre's time included), by tier",
    ["tier"],
    buckets=(30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1800),
)
PLATFORM_SHARE_SECONDS = Histogram(
    "kj_dispatch_platform_share_seconds",
    "Alarm received to work order issued: the platform's own share of the response time",
    ["tier"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TARGET_TOTAL = Counter(
    "kj_dispatch_target_total",
    "Responses that met or missed the tier target, by tier and platform",
    ["tier", "platform", "outcome"],
)
QUEUED_ALARMS = Gauge("kj_dispatch_queued_alarms", "Alarms waiting for a unit")
AT_RISK_TOTAL = Counter(
    "kj_dispatch_at_risk_total", "Alarms whose best ETA exceeded the target", ["tier"]
)
UNITS_AVAILABLE = Gauge(
    "kj_dispatch_units_available", "Units free to take a call, by platform", ["platform"]
)
ASSIGNMENTS_TOTAL = Counter(
    "kj_dispatch_assignments_total", "Work orders issued", ["role", "reason"]
)
SHORTFALLS_TOTAL = Counter(
    "kj_dispatch_shortfalls_total", "Alarms put in the queue, by reason", ["reason"]
)
WITHDRAWALS_TOTAL = Counter(
    "kj_dispatch_withdrawals_total", "Work orders withdrawn, by reason", ["reason"]
)
UNIT_CONFLICTS_TOTAL = Counter(
    "kj_dispatch_unit_conflicts_total",
    "Assignments refused by the database because the unit already had an open work order",
)
PLAN_SECONDS = Histogram(
    "kj_dispatch_plan_seconds",
    "Time to decide one batch",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
REGIONS_HELD = Gauge(
    "kj_dispatch_regions_held", "1 while this process holds the region's lease", ["region"]
)
STOOD_DOWN_TOTAL = Counter(
    "kj_dispatch_stood_down_total",
    "Regions given up: revoked by a rebalance, or fenced (the lease moved on)",
    ["why"],
)
RECONCILED_TOTAL = Counter(
    "kj_dispatch_reconciled_alarms_total",
    "Open alarms found in PostgreSQL that the book had missed",
)
CAUGHT_UP_TOTAL = Counter(
    "kj_dispatch_amendments_caught_up_total",
    "Alarm updates and cancels read by a process without the region's lease, applied by the "
    "region's holder at take-over or reconcile",
)
RESTORED_TOTAL = Counter(
    "kj_dispatch_restored_total",
    "Jobs given back to a unit whose acceptance reached the gateway in time but dispatch after "
    "its acceptance timeout",
)
REPOSITIONS_TOTAL = Counter(
    "kj_dispatch_repositions_total",
    "Units sent to patrol at a post, by why: shift_plan, freed (back from a call), move_up",
    ["reason"],
)
COVERAGE_RATIO = Gauge(
    "kj_dispatch_coverage_ratio",
    "Expected share of calls on target were one to come now (live coverage), by tier and all",
    ["tier"],
)
POSTS = Gauge(
    "kj_dispatch_posts", "Posts held by units (sent there) and occupied (reached)", ["state"]
)


def start_at_zero(*, platforms: list[str], regions: list[str]) -> None:
    """Every series a dashboard or an alert reads, at zero from the start (kj_runtime.series)."""
    tiers = [str(t) for t in ResponseTier]
    series.start_at_zero(TARGET_TOTAL, tier=tiers, platform=platforms, outcome=["met", "missed"])
    series.start_at_zero(RESPONSE_SECONDS, tier=tiers)
    series.start_at_zero(CITIZEN_WAIT_SECONDS, tier=tiers)
    series.start_at_zero(PLATFORM_SHARE_SECONDS, tier=tiers)
    series.start_at_zero(AT_RISK_TOTAL, tier=tiers)
    series.start_at_zero(UNITS_AVAILABLE, platform=platforms)
    series.start_at_zero(SHORTFALLS_TOTAL, reason=["none_in_range", "all_busy", "locations_stale"])
    series.start_at_zero(
        WITHDRAWALS_TOTAL,
        reason=["preempted", "accept_timeout", "rejected", "superseded_by_timely_accept"],
    )
    series.start_at_zero(STOOD_DOWN_TOTAL, why=["revoked", "fenced"])
    series.start_at_zero(REGIONS_HELD, region=regions)
    series.start_at_zero(REPOSITIONS_TOTAL, reason=["shift_plan", "freed", "move_up"])
    series.start_at_zero(POSTS, state=["held", "occupied"])
