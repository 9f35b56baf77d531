"""ASGI middleware: the common case of `POST /v1/alarms` (a valid bearer token, a JSON body
the contract accepts) answered without FastAPI's per-request machinery (dependency solving,
a JSON decode then a validation of the decoded dict, a response model round trip), which
was a quarter of the service's CPU under load (decision 0011).

Anything else (no or bad token, a body that is not a valid report, another content type) is
passed on untouched to the FastAPI route, which stays the one reference for every error
answer and for the OpenAPI document. Both paths call the same `report` handler."""

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import ValidationError

from kj_alarm.entrypoints.auth import Caller, IntegrationTokens
from kj_alarm.entrypoints.metrics import ASGIApp
from kj_runtime.problems import PROBLEM_JSON
from kj_schemas import codec
from kj_schemas.alarms import AlarmReport

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
        route: Any,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.handler = handler
        self.limited = limited
        self.infrastructure = infrastructure
        self.unavailable = unavailable
        self.route = route  # what RequestTimer labels the request with

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != "/v1/alarms"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"")
        caller = self.tokens.from_header(headers.get(b"authorization"))
        if caller is None or not content_type.startswith(b"application/json"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
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
        scope["route"] = self.route
        wait = self.tokens.admit(caller)
        try:
            if wait is not None:  # over its rate limit (decision 0126)
                status, payload, extra = self.limited(wait)
            else:
                status, payload, extra = await self.handler(report, caller)
        except self.infrastructure as error:
            status, payload, extra = self.unavailable(error)
        content = orjson.dumps(payload)
        response_headers = [
            (b"content-type", PROBLEM_JSON.encode() if status >= 400 else b"application/json"),
            (b"content-length", str(len(content)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})


def _replay(body: bytes, receive: Any) -> Callable[[], Awaitable[dict[str, Any]]]:
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay
