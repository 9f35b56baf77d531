"""The 110 integrations' HTTP API under /v1. Routes are thin: authenticate, let the contract
model validate, call a handler, answer. Errors a client can cause are 4xx with the reason;
a database that does not answer is 503 with Retry-After, never a false 201."""

from typing import Annotated, Any, Literal
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kj_alarm.domain.intake_decision import ConflictingRepeat, IntakeResult
from kj_alarm.entrypoints.auth import Caller, IntegrationTokens
from kj_alarm.entrypoints.fast_intake import FastIntake, IntakeApi
from kj_alarm.entrypoints.http_models import (
    AlarmView,
    BoardAnswer,
    IntakeAnswer,
    UnmergeRequest,
)
from kj_alarm.entrypoints.http_updates import add_update_routes
from kj_alarm.entrypoints.metrics import RECEIVED, REJECTED, RequestTimer
from kj_alarm.service_layer.deps import Deps
from kj_alarm.service_layer.intake import IntakeWriter
from kj_alarm.service_layer.unmerge import NotMerged, UnknownAlarm, unmerge
from kj_alarm.service_layer.views import BadCursor, alarm_story, board_page
from kj_alarm.settings import AlarmSettings
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.http_body_limit import BodyLimit
from kj_runtime.http_errors import answer_bad_requests, invalid
from kj_runtime.integrations import IntegrationRegistry
from kj_runtime.problems import PROBLEM_JSON, Problem, problem, problem_body
from kj_runtime.rate_limit import retry_after
from kj_schemas.alarms import AlarmReport
from kj_schemas.base import RecentTimestamp

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False, description="one token per 110 integration")


class Unauthorized(Exception):
    pass


class RateLimited(Exception):
    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s


def rate_limited(wait_s: float) -> tuple[int, Any, dict[str, str]]:
    """The 429 of an integration over its rate limit (decision 0126)."""
    REJECTED.labels("http", "rate_limited").inc()
    seconds = retry_after(wait_s)
    body = problem_body(
        429, "over this integration's rate limit; retry later", retry_after_s=seconds
    )
    return 429, body, {"Retry-After": str(seconds)}


def _problem(status: int, detail: str, kind: str | None = None, **headers: str) -> Response:
    return problem(status, detail, kind=kind, headers=headers or None)


def _answer_as(status: int, payload: Any, headers: dict[str, str]) -> Response:
    media = PROBLEM_JSON if status >= 400 else "application/json"
    return JSONResponse(payload, status_code=status, headers=headers or None, media_type=media)


def _answer(result: IntakeResult) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "alarm_id": str(result.alarm_id),
        "status": str(result.status),
        "tier": str(result.tier),
        "target_seconds": result.target_seconds,
    }
    if result.merged_into is not None:
        answer["merged_into"] = str(result.merged_into)
    return answer


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no or bad credentials"},
    413: {"model": Problem, "description": "request body over the limit"},
    429: {"model": Problem, "description": "over the integration's rate limit; see Retry-After"},
    503: {"model": Problem, "description": "the database does not answer; retry later"},
}


def create_app(
    settings: AlarmSettings,
    deps: Deps,
    writer: IntakeWriter,
    registry: IntegrationRegistry | None = None,
) -> FastAPI:
    """`registry`: the integrations (by default only the settings' tokens, unread table)."""
    app = IntakeApi(
        title="快警 alarm intake",
        version="1.0.0",
        description="110 integrations report alarms (警情) and follow their story.",
        # the service's metrics are Prometheus; FastAPI's OpenTelemetry check (environment
        # lookups) on every request was 5% of the CPU under load
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    if registry is None:
        registry = IntegrationRegistry(
            None, settings.registry, service="alarm", static=settings.integrations
        )
    tokens = IntegrationTokens(registry)
    retry_header = str(settings.retry_after_s)

    async def integration(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        found = await tokens.authenticate(credentials.credentials) if credentials else None
        if found is None:
            raise Unauthorized()
        wait = tokens.admit(found)
        if wait is not None:
            raise RateLimited(wait)
        return found

    Integration = Annotated[Caller, Depends(integration)]

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, __: Exception) -> Response:
        REJECTED.labels("http", "unauthorized").inc()
        return _problem(401, "a valid bearer token is required", **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, error: Exception) -> Response:
        assert isinstance(error, RateLimited)
        return _answer_as(*rate_limited(error.wait_s))

    # a 422 names each bad field and why; it never echoes the input (it may hold a caller's phone)
    answer_bad_requests(app, on_refused=REJECTED.labels("http", "invalid").inc)

    async def _unavailable(request: Request, error: Exception) -> Response:
        log.warning("database_unavailable", path=request.url.path, error=type(error).__name__)
        return problem(
            503, "the alarm record is unavailable; retry", retry_after_s=settings.retry_after_s
        )

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)

    async def report_from(report: AlarmReport, caller: Caller) -> tuple[int, Any, dict[str, str]]:
        """POST /v1/alarms after authentication and validation, for the route and FastIntake."""
        source = caller.integration
        if not caller.owns(report.source):
            REJECTED.labels("http", "wrong_source").inc()
            detail = "source must be the integration the token belongs to"
            return 403, problem_body(403, detail, kind="wrong-source"), {}
        try:
            result = await writer.take_in(report)
        except ConflictingRepeat as conflict:
            RECEIVED.labels(source, str(report.category), "none", "conflict").inc()
            detail = (
                f"{report.source_alarm_id} was reported with a different body "
                f"(alarm {conflict.alarm_id})"
            )
            return 409, problem_body(409, detail, kind="conflicting-repeat"), {}
        outcome = str(result.status) if result.created else "repeat"
        RECEIVED.labels(source, result.category, str(result.tier), outcome).inc()
        return (201 if result.created else 200), _answer(result), {}

    def unavailable_answer(error: Exception) -> tuple[int, Any, dict[str, str]]:
        log.warning("database_unavailable", path="/v1/alarms", error=type(error).__name__)
        detail = "the alarm record is unavailable; retry"
        body = problem_body(503, detail, retry_after_s=settings.retry_after_s)
        return 503, body, {"Retry-After": retry_header}

    @app.post(
        "/v1/alarms",
        status_code=201,
        response_model=IntakeAnswer,
        response_model_exclude_none=True,
        responses={
            200: {"model": IntakeAnswer, "description": "a repeat: the first answer again"},
            403: {"model": Problem, "description": "the source is not this integration"},
            409: {"model": Problem, "description": "this id was reported with a different body"},
            **ERRORS,
        },
        summary="report an alarm",
    )
    async def report_alarm(report: AlarmReport, caller: Integration) -> Any:
        return _answer_as(*await report_from(report, caller))

    @app.post(
        "/v1/alarms/{alarm_id}/unmerge",
        response_model=IntakeAnswer,
        response_model_exclude_none=True,
        responses={
            404: {"model": Problem, "description": "no such alarm of this integration"},
            409: {"model": Problem, "description": "the alarm is not merged"},
            **ERRORS,
        },
        summary="undo a merge: the alarm becomes an incident of its own and is dispatched",
    )
    async def unmerge_alarm(
        alarm_id: UUID, caller: Integration, request: UnmergeRequest | None = None
    ) -> Any:
        actor = request.actor if request is not None else None
        try:
            return _answer(await unmerge(alarm_id, deps, may_act=caller.owns, actor=actor))
        except UnknownAlarm:
            return _problem(404, "no such alarm")
        except NotMerged as error:
            return _problem(409, str(error), "not-merged")

    add_update_routes(app, deps, authenticate=integration, problem=_problem, errors=ERRORS)

    @app.get(
        "/v1/alarms/{alarm_id}",
        response_model=AlarmView,
        responses={
            404: {"model": Problem, "description": "no such alarm of this integration"},
            **ERRORS,
        },
        summary="an alarm of this integration with its timeline and response time",
    )
    async def get_alarm(alarm_id: UUID, caller: Integration) -> Any:
        story = await alarm_story(alarm_id, deps, may_see=caller.owns)
        return story if story is not None else _problem(404, "no such alarm")

    @app.get(
        "/v1/alarms",
        response_model=BoardAnswer,
        responses=ERRORS,
        summary="the board of this integration's alarms by status (open = accepted, assigned or "
        "on scene), paged",
    )
    async def list_alarms(
        caller: Integration,
        status: Literal[
            "open", "accepted", "merged", "diverted", "assigned", "on_scene", "closed"
        ] = "open",
        since: RecentTimestamp | None = None,
        limit: Annotated[int, Query(ge=1, le=settings.board_max_page)] = 50,
        cursor: Annotated[str | None, Query(max_length=400)] = None,
    ) -> Any:
        try:
            page = await board_page(
                deps,
                sources=caller.sources,
                status=status,
                since=since,
                limit=limit,
                cursor=cursor,
            )
        except BadCursor as error:
            return invalid([{"loc": ["query", "cursor"], "msg": str(error), "type": "value_error"}])
        return {"items": page.items, "next_cursor": page.next_cursor}

    app.front = lambda stack: FastIntake(
        stack,
        tokens=tokens,
        handler=report_from,
        limited=rate_limited,
        infrastructure=UNAVAILABLE,
        unavailable=unavailable_answer,
        max_body_bytes=settings.max_body_bytes,
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        on_refused=REJECTED.labels("http", "too_large").inc,
    )
    app.add_middleware(RequestTimer)
    return app
