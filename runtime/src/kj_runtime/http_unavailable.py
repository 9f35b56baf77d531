"""Every service's HTTP answer to "the database or broker cannot serve now": 503 with
Retry-After, never a bare 500 (issue 14: notify's answer route and tracking's track route gave
500 while PostgreSQL restarted). The host adds it to every app; an app that answers one of
these errors its own way keeps its own handler (alarm names its record)."""

import contextlib
from typing import Any

import structlog
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse

from kj_runtime.errors import UNAVAILABLE

log = structlog.get_logger(__name__)


def answer_unavailable(app: FastAPI, *, retry_after_s: int) -> None:
    async def unavailable(connection: Request | WebSocket, error: Exception) -> Any:
        log.warning("unavailable", path=connection.url.path, error=type(error).__name__)
        if isinstance(connection, WebSocket):  # 1013: try again later
            with contextlib.suppress(Exception):
                await connection.close(code=1013, reason="unavailable; reconnect")
            return None
        return JSONResponse(
            {"detail": "unavailable for now; retry"},
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    for kind in UNAVAILABLE:
        if kind not in app.exception_handlers:
            app.add_exception_handler(kind, unavailable)
