"""The notify service's metrics, observed at the edges (gateway, consumers, senders)."""

from prometheus_client import Counter, Gauge, Histogram

TERMINALS_CONNECTED = Gauge(
    "kj_notify_terminals_connected", "Terminals holding an open WebSocket to this replica"
)
DELIVERY_SECONDS = Histogram(
    "kj_notify_delivery_latency_seconds",
    "Work order issued to acknowledged by the terminal",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
UNDELIVERED = Gauge(
    "kj_notify_undelivered_backlog", "Work-order deliveries not yet acknowledged by a terminal"
)
ANSWERS = Counter("kj_notify_answers_total", "Terminal answers, by outcome", ["outcome"])
CALLBACK_ATTEMPTS = Counter(
    "kj_notify_callback_attempts_total", "Status callback POSTs attempted", ["outcome"]
)
CALLBACK_FAILURES = Counter(
    "kj_notify_callback_failures_total", "Status callbacks dead-lettered after the retry window"
)
BROADCASTS = Counter("kj_notify_broadcasts_total", "Broadcasts handled")
BROADCAST_DELIVERIES = Counter(
    "kj_notify_broadcast_deliveries_total", "Broadcast messages to people, by outcome", ["outcome"]
)
