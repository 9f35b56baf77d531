"""The alarm service's metrics, observed at the edges (HTTP middleware, the intake routes,
the Kafka intake). Labels are bounded: sources are the configured integrations."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Histogram

RECEIVED = Counter(
    "kj_alarm_received_total",
    "Alarm reports taken in, by source, category, tier and outcome",
    ["source", "category", "tier", "outcome"],
)
REJECTED = Counter(
    "kj_alarm_rejected_total", "Alarm reports refused, by channel and reason", ["channel", "reason"]
)
REQUEST_SECONDS = Histogram(
    "kj_alarm_request_seconds",
    "HTTP request latency, by route and status",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class RequestTimer:
    """ASGI middleware: one latency observation per request, labelled by route template. The
    lean intake path stands in front of it and times its own requests (decision 0175)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )
