"""The gateway's metrics (Prometheus names, bounded labels: reasons and outcomes, never ids)."""

from prometheus_client import Counter, Gauge

CONNECTIONS = Gauge("kj_devices_jt808_connections", "808 terminal connections open")
SIGNED_IN = Gauge("kj_devices_jt808_authenticated", "808 connections past authentication")
CLOSED = Counter(
    "kj_devices_jt808_closed_total", "808 connections closed by the gateway, by reason", ["reason"]
)
FRAMES = Counter("kj_devices_jt808_frames_total", "808 frames read, by outcome", ["outcome"])
FIXES = Counter(
    "kj_devices_fixes_total", "Positions taken in, by path and outcome", ["path", "outcome"]
)
PUBLISHED = Counter("kj_devices_pings_published_total", "GpsPings the broker confirmed")
DROPPED = Counter("kj_devices_pings_dropped_total", "GpsPings dropped, the queue full", ["cause"])
TEXTS = Counter(
    "kj_devices_text_dispatch_total", "0x8300 work-order texts, by outcome", ["outcome"]
)
HTTP_REFUSED = Counter(
    "kj_devices_http_refused_total", "HTTP location requests refused, by reason", ["reason"]
)
HELD = Counter(
    "kj_devices_jt808_reads_paused_total",
    "Times a connection was not read for a while: the broker was behind (backpressure)",
)
