"""The console's Prometheus metrics (bounded labels)."""

from prometheus_client import Counter, Gauge

BROWSERS = Gauge("kj_console_browsers", "Browsers connected to this console process")
SENT_BYTES = Counter("kj_console_sent_bytes_total", "Bytes sent to browsers over their sockets")
RESYNCS = Counter(
    "kj_console_resyncs_total", "Browsers too slow to keep up, sent a fresh snapshot instead"
)
ACTIONS = Counter(
    "kj_console_actions_total", "Actions people took on the console", ["action", "outcome"]
)
LOGINS = Counter("kj_console_logins_total", "Sign-in attempts", ["outcome"])
