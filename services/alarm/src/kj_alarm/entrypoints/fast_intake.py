"""ASGI: the common case of `POST /v1/alarms` (a valid bearer token, a JSON body of a declared
length within the limit that the contract accepts) answered without FastAPI's per-request
machinery (dependency solving, a JSON decode then a validation of the decoded dict, a response
model round trip), which was a quarter of the service's CPU under load (decision 0011).

It stands in front of the app's whole middleware stack (decision 0175), so such a request goes
through none of the layers either: it is timed here (`kj_alarm_request_seconds`, as
`RequestTimer` times the others), its declared length is its body limit, and a bug is a 500
problem here. Anything else (no or bad token, a body that is not a valid report, no or too large
a declared length, another content type) is passed on untouched to the stack and the FastAPI
route, which stay the one reference for every error answer and for the OpenAPI document. Both
paths call the same `report` handler."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from fastapi import FastAPI
from prometheus_client import Histogram
from pydantic import ValidationError

from kj_alarm.entrypoints.auth import Caller, IntegrationTokens
from kj_alarm.entrypoints.metrics import REQUEST_SECONDS, ASGIApp
from kj_runtime.problems import INTERNAL_ERROR, PROBLEM_JSON, problem_body
from kj_schemas import codec
from kj_schemas.alarms import AlarmReport

log = structlog.get_logger(__name__)

PATH = "/v1/alarms"
# (report, caller) -> (status, JSON body, extra headers)
Handler = Callable[[AlarmReport, Caller], Awaitable[tuple[int, Any, dict[str, str]]]]
# an infrastructure error -> the same answer
ErrorAnswer = Callable[[Exception], tuple[int, Any, dict[str, str]]]
# the seconds to wait -> the 429
LimitedAnswer = Callable[[float], tuple[int, Any, dict[str, str]]]


class FastIntake:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: IntegrationTokens,
        handler: Handler,
        limited: LimitedAnswer,
        infrastructure: tuple[type[Exception], ...],
        unavailable: ErrorAnswer,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.handler = handler
        self.limited = limited
        self.infrastructure = infrastructure
        self.unavailable = unavailable
        self.max_body_bytes = max_body_bytes
        self._timers: dict[int, Histogram] = {}  # status -> its labelled latency histogram

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        content_type = headers.get(b"content-type", b"")
        caller = self.tokens.from_header(headers.get(b"authorization"))
        if (
            caller is None
            or not content_type.startswith(b"application/json")
            or not declared.isdigit()
            or int(declared) > self.max_body_bytes
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:  # the server's parser frames the body by its declared length
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            report = codec.decode(AlarmReport, body)
        except (ValidationError, ValueError):
            await self.app(scope, _replay(body, receive), send)  # FastAPI names each field
            return
        wait = self.tokens.admit(caller)
        try:
            if wait is not None:  # over its rate limit (decision 0126)
                status, payload, extra = self.limited(wait)
            else:
                status, payload, extra = await self.handler(report, caller)
        except self.infrastructure as error:
            status, payload, extra = self.unavailable(error)
        except Exception:  # a bug: what the stack's error middleware answers, and logged
            log.exception("intake_failed", path=PATH)
            status, payload, extra = 500, problem_body(500, INTERNAL_ERROR), {}
        content = orjson.dumps(payload)
        response_headers = [
            (b"content-type", PROBLEM_JSON.encode() if status >= 400 else b"application/json"),
            (b"content-length", str(len(content)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in extra.items()),
        ]
        try:
            await send(
                {"type": "http.response.start", "status": status, "headers": response_headers}
            )
            await send({"type": "http.response.body", "body": content})
        finally:
            self._timer(status).observe(time.perf_counter() - started)

    def _timer(self, status: int) -> Histogram:
        timer = self._timers.get(status)
        if timer is None:
            timer = self._timers[status] = REQUEST_SECONDS.labels("POST", PATH, str(status))
        return timer


class IntakeApi(FastAPI):
    """The alarm service's FastAPI app, with `front` (the lean intake) in front of its whole
    middleware stack, the layers the host adds included (decision 0175)."""

    front: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:  # type: ignore[override]
        stack: ASGIApp = super().build_middleware_stack()
        return stack if self.front is None else self.front(stack)


def _replay(body: bytes, receive: Any) -> Callable[[], Awaitable[dict[str, Any]]]:
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay
