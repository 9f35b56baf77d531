"""Tracking's own metrics. Dead letters and consumer lag come from kj_runtime
(`kj_dead_letters_total`, `kj_consumer_lag_records`)."""

from prometheus_client import Counter, Gauge, Histogram

from kj_runtime import series
from kj_schemas.enums import UnitStatus
from kj_tracking.domain.validation import Outcome

PINGS = Counter("kj_tracking_pings_total", "Pings handled, by outcome", ["outcome"])
PING_DELAY = Histogram(
    "kj_tracking_ping_delay_seconds",
    "Receive time minus fix time of trusted pings (one in 8 sampled)",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
UNITS_BY_STATUS = Gauge("kj_tracking_units", "Tracked units by status", ["status"])
LOST_CONTACT = Counter("kj_tracking_lost_contact_total", "Units that fell silent")
ARRIVALS = Counter("kj_tracking_arrivals_total", "Arrivals on scene detected from GPS")
CHECKINS = Counter("kj_tracking_checkins_total", "Patrol check-ins recorded")
STATES_PUBLISHED = Counter("kj_tracking_states_published_total", "Unit states published")


def start_at_zero() -> None:
    """Every outcome and status at zero from the start (kj_runtime.series, issue 16)."""
    series.start_at_zero(PINGS, outcome=[str(o) for o in Outcome])
    series.start_at_zero(UNITS_BY_STATUS, status=[str(s) for s in UnitStatus])
