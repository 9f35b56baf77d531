"""Every metric name that a dashboard panel or a Prometheus rule uses, in one place.

`runtime` metrics exist in kj_runtime today. The service metrics are the names the services were
asked to export; when a name shifts, change it here and regenerate (`python -m deploy.gen`): the
tests then check every query against this table and, once a service package is importable,
against that service's live prometheus_client registry.

`kj_dispatch_target_total` counts each response as met or missed by tier and platform: attainment
per tier and per platform are read from it, so the board and the alert agree with dispatch's own
verdict. `kj_dispatch_response_seconds` is by tier only (decision 0184): by platform it was 18,752
of the 19,367 lines of a province's page.
"""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    labels: tuple[str, ...]
    owner: str  # "runtime" (every service) or the Kubernetes name of the service
    help: str

    def series(self) -> tuple[str, ...]:
        """The sample names Prometheus stores for this metric."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


def _m(name: str, kind: Kind, labels: tuple[str, ...], owner: str, help: str) -> Metric:
    return Metric(name, kind, labels, owner, help)


# runtime: every service
CONSUMED = _m(
    "kj_consumed_records_total",
    "counter",
    ("group", "topic"),
    "runtime",
    "records handled and committed",
)
CONSUME_BATCH = _m(
    "kj_consume_batch_seconds", "histogram", ("group",), "runtime", "time to handle one batch"
)
CONSUMER_LAG = _m(
    "kj_consumer_lag_records", "gauge", ("group", "topic"), "runtime", "records behind the log end"
)
HANDLER_FAILURES = _m(
    "kj_consume_handler_failures_total", "counter", ("group",), "runtime", "batches that raised"
)
OUTBOX_DEPTH = _m("kj_outbox_depth", "gauge", ("stream",), "runtime", "rows waiting in the outbox")
OUTBOX_AGE = _m(
    "kj_outbox_oldest_age_seconds", "gauge", ("stream",), "runtime", "age of the oldest waiting row"
)
OUTBOX_PUBLISHED = _m(
    "kj_outbox_published_total", "counter", ("stream", "topic"), "runtime", "rows relayed to Kafka"
)
OUTBOX_ERRORS = _m(
    "kj_outbox_relay_errors_total", "counter", ("stream",), "runtime", "relay attempts that failed"
)
LOOP_LAG = _m(
    "kj_event_loop_lag_seconds",
    "histogram",
    (),
    "runtime",
    "how late a 100 ms wake-up came: the event loop's stalls",
)
DEAD_LETTERS = _m(
    "kj_dead_letters_total",
    "counter",
    ("service", "source_topic", "reason"),
    "runtime",
    "records set aside",
)

# alarm
ALARMS_RECEIVED = _m(
    "kj_alarm_received_total",
    "counter",
    ("source", "category", "tier", "outcome"),
    "kj-alarm",
    "alarms taken in, by outcome",
)
ALARM_REQUEST = _m(
    "kj_alarm_request_seconds", "histogram", (), "kj-alarm", "intake request latency"
)

# patrol-tracking
PINGS = _m(
    "kj_tracking_pings_total",
    "counter",
    ("outcome",),
    "kj-patrol-tracking",
    "GPS fixes, by outcome",
)
PING_DELAY = _m(
    "kj_tracking_ping_delay_seconds",
    "histogram",
    (),
    "kj-patrol-tracking",
    "fix time to processing",
)
UNITS = _m("kj_tracking_units", "gauge", ("status",), "kj-patrol-tracking", "units by status")

# dispatch
RESPONSE = _m(
    "kj_dispatch_response_seconds",
    "histogram",
    ("tier",),
    "kj-dispatch",
    "alarm to on scene",
)
TARGET = _m(
    "kj_dispatch_target_total",
    "counter",
    ("tier", "platform", "outcome"),
    "kj-dispatch",
    "alarms that met or missed their target",
)
QUEUED = _m("kj_dispatch_queued_alarms", "gauge", (), "kj-dispatch", "alarms waiting for a unit")
AT_RISK = _m(
    "kj_dispatch_at_risk_total",
    "counter",
    (),
    "kj-dispatch",
    "alarms flagged as about to miss their target",
)
UNITS_AVAILABLE = _m(
    "kj_dispatch_units_available",
    "gauge",
    ("platform",),
    "kj-dispatch",
    "available units per platform",
)
COVERAGE = _m(
    "kj_dispatch_coverage_ratio",
    "gauge",
    ("tier",),
    "kj-dispatch",
    "expected share of calls on target were one to come now (live coverage)",
)
POSTS = _m(
    "kj_dispatch_posts", "gauge", ("state",), "kj-dispatch", "posts held by units and occupied"
)
REPOSITIONS = _m(
    "kj_dispatch_repositions_total",
    "counter",
    ("reason",),
    "kj-dispatch",
    "units sent to patrol at a post, by why",
)

# notify
TERMINALS = _m(
    "kj_notify_terminals_connected", "gauge", (), "kj-notify", "terminal WebSockets open"
)
DELIVERY = _m(
    "kj_notify_delivery_latency_seconds",
    "histogram",
    (),
    "kj-notify",
    "work order to terminal delivery",
)
UNDELIVERED = _m(
    "kj_notify_undelivered_backlog", "gauge", (), "kj-notify", "messages not yet delivered"
)
CALLBACKS = _m(
    "kj_notify_callback_attempts_total",
    "counter",
    ("outcome",),
    "kj-notify",
    "status callbacks to the 110 centre",
)
BROADCASTS = _m(
    "kj_notify_broadcasts_total", "counter", (), "kj-notify", "broadcasts to drivers and volunteers"
)

# devices (the JT/T 808 gateway and phones over HTTP)
JT808_CONNECTIONS = _m(
    "kj_devices_jt808_connections", "gauge", (), "kj-devices", "808 terminal connections open"
)
JT808_AUTHENTICATED = _m(
    "kj_devices_jt808_authenticated",
    "gauge",
    (),
    "kj-devices",
    "808 connections past authentication",
)
JT808_CLOSED = _m(
    "kj_devices_jt808_closed_total",
    "counter",
    ("reason",),
    "kj-devices",
    "808 connections closed by the gateway",
)
DEVICE_FIXES = _m(
    "kj_devices_fixes_total",
    "counter",
    ("path", "outcome"),
    "kj-devices",
    "positions taken in from terminals and phones",
)
DEVICE_PINGS_DROPPED = _m(
    "kj_devices_pings_dropped_total",
    "counter",
    ("cause",),
    "kj-devices",
    "positions dropped, the queue to the broker full",
)

# the command-centre console
CONSOLE_BROWSERS = _m(
    "kj_console_browsers", "gauge", (), "kj-console", "browsers connected to a console process"
)
CONSOLE_SENT_BYTES = _m(
    "kj_console_sent_bytes_total",
    "counter",
    (),
    "kj-console",
    "bytes sent to browsers over their sockets",
)
CONSOLE_RESYNCS = _m(
    "kj_console_resyncs_total",
    "counter",
    (),
    "kj-console",
    "browsers too slow to keep up, sent a fresh snapshot instead",
)
CONSOLE_ACTIONS = _m(
    "kj_console_actions_total",
    "counter",
    ("action", "outcome"),
    "kj-console",
    "actions people took on the console",
)
CONSOLE_LOGINS = _m("kj_console_logins_total", "counter", ("outcome",), "kj-console", "sign-ins")

METRICS: tuple[Metric, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Metric))

# series Prometheus itself adds to every target
PROMETHEUS_SERIES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})


def known_series() -> frozenset[str]:
    return frozenset(s for m in METRICS for s in m.series()) | PROMETHEUS_SERIES
