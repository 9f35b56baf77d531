"""Answers to errors every service's HTTP API meets the same way.

- "The database or broker cannot serve now" is a 503 with Retry-After, never a bare 500 (issue
  14: notify's answer route and tracking's track route gave 500 while PostgreSQL restarted). The
  host adds it to every app; an app that answers one of these errors its own way keeps its own
  handler (alarm names its record).
- A bad request is a 422 naming each bad field, never echoing what was sent; a body that is not
  UTF-8 JSON is one more (FastAPI says 400, which no route documents)."""

import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def answer_bad_requests(app: FastAPI, *, on_refused: Callable[[], None] | None = None) -> None:
    """A bad request is a 422 that names each bad field and why, and never echoes the input:
    FastAPI's own answer repeats it, which leaks what a caller sent (a phone number) into
    logs and proxies, and fails as a 500 when the input holds a lone surrogate ("\\ud800"
    passes `json.loads`, not UTF-8). A body that is not UTF-8 JSON is one more bad body (FastAPI
    says 400, which no route documents). `on_refused` is called for each (alarm counts them)."""

    async def invalid(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        if on_refused is not None:
            on_refused()
        detail = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:  # FastAPI could not decode the body
            if on_refused is not None:
                on_refused()
            detail = [{"loc": ["body"], "msg": "not a UTF-8 JSON document", "type": "json_invalid"}]
            return JSONResponse({"detail": detail}, status_code=422)
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
