"""Answers to errors every service's HTTP API meets the same way, all RFC 9457 problem details
(`kj_runtime.problems`, decision 0125).

- "The database or broker cannot serve now" is a 503 with Retry-After, never a bare 500 (issue
  14: notify's answer route and tracking's track route gave 500 while PostgreSQL restarted). The
  host adds it to every app; an app that answers one of these errors its own way keeps its own
  handler (alarm names its record).
- A bad request is a 422 naming each bad field (`errors`), never echoing what was sent; a body
  that is not UTF-8 JSON is one more (FastAPI says 400, which no route documents).
- Every other refusal (401, 404 of an unknown path, 405...) is a problem too, and so is a bug
  (500, logged with its traceback by the server)."""

import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request, WebSocket
from fastapi.exception_handlers import http_exception_handler as fastapi_http_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kj_runtime.errors import UNAVAILABLE
from kj_runtime.problems import INTERNAL_ERROR, PROBLEM_JSON, Problem, kind_of, problem

log = structlog.get_logger(__name__)


def answer_unavailable(app: FastAPI, *, retry_after_s: int) -> None:
    async def unavailable(connection: Request | WebSocket, error: Exception) -> Any:
        log.warning("unavailable", path=connection.url.path, error=type(error).__name__)
        if isinstance(connection, WebSocket):  # 1013: try again later
            with contextlib.suppress(Exception):
                await connection.close(code=1013, reason="unavailable; reconnect")
            return None
        return problem(503, "unavailable for now; retry", retry_after_s=retry_after_s)

    for kind in UNAVAILABLE:
        if kind not in app.exception_handlers:
            app.add_exception_handler(kind, unavailable)


def invalid_fields(errors: Any) -> list[dict[str, Any]]:
    """pydantic's errors as the problem's `errors`: where, why, a code; never the input."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def invalid(errors: list[dict[str, Any]]) -> Response:
    """The 422 of a request with these invalid fields."""
    n = len(errors)
    return problem(422, f"{n} invalid field{'s' if n != 1 else ''}", errors=errors)


def answer_bad_requests(app: FastAPI, *, on_refused: Callable[[], None] | None = None) -> None:
    """A bad request is a 422 that names each bad field and why, and never echoes the input:
    FastAPI's own answer repeats it, which leaks what a caller sent (a phone number) into
    logs and proxies, and fails as a 500 when the input holds a lone surrogate ("\\ud800"
    passes `json.loads`, not UTF-8). A body that is not UTF-8 JSON is one more bad body (FastAPI
    says 400, which no route documents). `on_refused` is called for each (alarm counts them).
    Any other HTTPException becomes a problem of its status; a `detail` of
    `{"reason", "detail"}` (the console's guards) keeps its reason as the kind."""

    async def invalid_request(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        if on_refused is not None:
            on_refused()
        return invalid(invalid_fields(error.errors()))

    async def http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:  # FastAPI could not decode the body
            if on_refused is not None:
                on_refused()
            return invalid(
                [{"loc": ["body"], "msg": "not a UTF-8 JSON document", "type": "json_invalid"}]
            )
        detail, reason = error.detail, None
        if isinstance(detail, dict):
            reason, detail = detail.get("reason"), detail.get("detail", "")
        return problem(
            error.status_code,
            str(detail),
            kind=kind_of(reason) if reason else None,
            reason=reason,
            headers=dict(error.headers or {}),
        )

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)


async def _internal(_: Request, __: Exception) -> Response:
    return problem(500, INTERNAL_ERROR)


def answer_problems(app: FastAPI, *, retry_after_s: int) -> None:
    """Every error of `app` as a problem (the host calls it for every service's app): the
    handlers above where the app set none of its own, a bug's 500, and an OpenAPI document that
    says so."""
    answer_unavailable(app, retry_after_s=retry_after_s)
    if app.exception_handlers.get(StarletteHTTPException) is fastapi_http_handler:
        answer_bad_requests(app)
    if Exception not in app.exception_handlers and 500 not in app.exception_handlers:
        app.add_exception_handler(Exception, _internal)
    document_problems(app)


def document_problems(app: FastAPI) -> None:
    """The app's OpenAPI document with every 4xx and 5xx answered as `application/problem+json`
    of the one `Problem` schema (FastAPI's own 422 `HTTPValidationError` included)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            servers=app.servers,
        )
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = problem_schema.pop("$defs", {})
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(defs)
        schemas["Problem"] = problem_schema
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        ref = {"$ref": "#/components/schemas/Problem"}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, answer in operation.get("responses", {}).items():
                    if status[:1] in ("4", "5"):
                        answer["content"] = {PROBLEM_JSON: {"schema": ref}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
