"""The console's pages and API. Routes are thin: who is asking (entrypoints/guards.py), validate,
call the service layer, answer. Errors a person can cause are 4xx with a `reason` code the page
translates; each route's OpenAPI lists the ones it gives (decision 0079), and the times a person
gives are bounded like every outside party's (issue 14: a track window within the last year, an
audit page's cursor between 1970 and 2200)."""

from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import Depends, FastAPI, Query, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from kj_console.domain.roles import Action, may
from kj_console.domain.sessions import COOKIE
from kj_console.entrypoints.guards import acting, same_origin, signed_in
from kj_console.entrypoints.socket import serve_browser
from kj_console.service_layer import views
from kj_console.service_layer.actions import NotAllowed
from kj_console.service_layer.auth import LoginRefused, SignedIn
from kj_console.service_layer.console import Console
from kj_console.service_layer.metrics import LOGINS
from kj_console.settings import ConsoleSettings
from kj_runtime.http_errors import answer_bad_requests, invalid_fields
from kj_runtime.openapi import request_body
from kj_runtime.problems import Problem, kind_of, problem
from kj_schemas.base import GeoPoint, LongText, RecentTimestamp, Timestamp, utcnow
from kj_schemas.commands import AnyCommand
from kj_schemas.enums import NotificationChannel

STATIC = Path(str(files("kj_console") / "static"))
_COMMAND = TypeAdapter(AnyCommand)
Who = Annotated[SignedIn, Depends(signed_in)]
Acting = Annotated[SignedIn, Depends(acting)]


def _answers(**given: str) -> dict[int | str, dict[str, Any]]:
    return {int(code[1:]): {"model": Problem, "description": why} for code, why in given.items()}


SHAPE = "a field missing or out of range, or a time outside the window"
SIGNED_IN = _answers(
    _401="not signed in (`signed_out`)", _503="the database does not answer; retry later"
)
READ = SIGNED_IN | _answers(_422=SHAPE)
ACT = READ | _answers(_403="another site (`cross_origin`), no CSRF token, or not this role's")


class LoginForm(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class BroadcastForm(BaseModel):
    alarm_id: UUID | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0, le=20_000)
    audience: list[Literal["taxi", "volunteer"]] = Field(min_length=1, max_length=2)
    text: LongText


def _problem(status: int, reason: str, detail: str) -> Response:
    """A refusal (decision 0125): its `reason` is a code the page translates."""
    return problem(status, detail, kind=kind_of(reason), reason=reason)


def _me(who: SignedIn, settings: ConsoleSettings) -> dict[str, Any]:
    return {
        "user": who.username,
        "display_name": who.display_name,
        "role": who.role,
        "csrf": who.csrf,
        "may_act": may(who.role, Action.command),
        "may_read_audit": may(who.role, Action.read_audit),
        "stale_after_s": settings.stale_after_s,
        "lost_after_s": settings.lost_after_s,
        "command_answer_s": settings.command_answer_s,
    }


def _security_headers(tile_url: str | None) -> dict[str, str]:
    images = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{", "").replace("}", ""))
        images += f" {parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; img-src {images}; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def create_app(console: Console) -> FastAPI:
    app = FastAPI(title="快警 command-centre console", version="1.0.0")
    app.state.console = console
    answer_bad_requests(app)  # a body that is not UTF-8 JSON is a 422 too; nothing echoed
    settings = console.settings
    headers = _security_headers(settings.tile_url)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(headers)
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    # ---- sessions ------------------------------------------------------------------------

    @app.post(
        "/api/login",
        summary="sign in: a session cookie and the CSRF token",
        responses=_answers(
            _401="wrong name or password (`bad_credentials`)",
            _403="from another site (`cross_origin`)",
            _422=SHAPE,
            _429="this name is locked a while after wrong passwords (`locked`)",
            _503="the database does not answer; retry later",
        ),
    )
    async def login(form: LoginForm, request: Request) -> Any:
        if not same_origin(request.headers):
            return _problem(403, "cross_origin", "not from this console")
        try:
            who, cookie = await console.accounts.login(form.username, form.password)
        except LoginRefused as refused:
            LOGINS.labels(refused.reason).inc()
            status = 429 if refused.reason == "locked" else 401
            return _problem(status, refused.reason, "wrong name or password, or locked a while")
        LOGINS.labels("ok").inc()
        response = JSONResponse(_me(who, settings))
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=settings.session_max_s,
            httponly=True,
            samesite="strict",
            secure=settings.cookie_secure,
            path="/",
        )
        return response

    @app.post("/api/logout", summary="sign out: the session ends now", responses=ACT)
    async def logout(who: Acting) -> Any:
        await console.accounts.logout(who)
        response = JSONResponse({"signed_out": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get(
        "/api/me", summary="who is signed in, their role and the CSRF token", responses=SIGNED_IN
    )
    async def me(who: Who) -> Any:
        return _me(who, settings)

    # ---- views ---------------------------------------------------------------------------

    @app.get(
        "/api/city",
        summary="the city to draw: zones, platforms, checkpoints, units",
        responses=SIGNED_IN,
    )
    async def city(_: Who) -> Response:
        return Response(console.city_json, media_type="application/json")

    @app.get(
        "/api/incidents/{alarm_id}",
        summary="an incident's page",
        responses=READ | _answers(_404="no such alarm (`unknown_alarm`)"),
    )
    async def incident(alarm_id: UUID, _: Who) -> Any:
        page = await views.incident_page(console.pool, console.view, alarm_id)
        return page if page is not None else _problem(404, "unknown_alarm", "no such alarm")

    @app.get(
        "/api/units/{unit_id}/track",
        summary="a unit's stored track over a time window",
        responses=READ,
    )
    async def track(
        unit_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")],
        _: Who,
        since: RecentTimestamp | None = None,
        until: RecentTimestamp | None = None,
    ) -> Any:
        end = until or utcnow()
        start = since or end - timedelta(minutes=30)
        if start >= end:
            return _problem(422, "bad_window", "since must be before until")
        return await views.unit_track(console.pool, unit_id, start, end)

    @app.get(
        "/api/notices",
        summary="recent notices and dead letters worth a look",
        responses=SIGNED_IN,
    )
    async def notices(_: Who) -> Any:
        return list(console.view.notices)

    @app.get(
        "/api/audit",
        summary="every person's actions, newest first (supervisors)",
        responses=READ | _answers(_403="only a supervisor reads it (`not_allowed`)"),
    )
    async def audit(
        who: Who,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        before: Timestamp | None = None,
    ) -> Any:
        if not may(who.role, Action.read_audit):
            return _problem(403, "not_allowed", "only a supervisor reads everyone's audit")
        return await views.audit_page(console.pool, limit=limit, before=before)

    @app.get(
        "/api/commands/{command_id}",
        summary="a command and the answer it got",
        responses=READ | _answers(_404="no such command (`unknown_command`)"),
    )
    async def command_outcome(command_id: UUID, _: Who) -> Any:
        found = await views.command_outcome(console.pool, command_id)
        return found if found is not None else _problem(404, "unknown_command", "no such command")

    # ---- actions -------------------------------------------------------------------------

    @app.post(
        "/api/commands",
        status_code=202,
        summary="a command to dispatch",
        responses=ACT,
        openapi_extra=request_body(AnyCommand),
    )
    async def command(request: Request, who: Acting) -> Any:
        try:
            body = _COMMAND.validate_json(await request.body())
        except ValidationError as error:
            errors = invalid_fields(error.errors())
            return problem(422, f"{len(errors)} invalid fields", errors=errors, reason="invalid")
        try:
            command_id = await console.actions.command(who, body)
        except NotAllowed as error:
            return _problem(403, "not_allowed", str(error))
        return JSONResponse({"command_id": str(command_id)}, status_code=202)

    @app.post(
        "/api/broadcasts",
        status_code=202,
        summary="call taxi drivers and volunteers",
        responses=ACT,
    )
    async def broadcast(form: BroadcastForm, who: Acting) -> Any:
        try:
            broadcast_id = await console.actions.broadcast(
                who,
                center=GeoPoint(lat=form.lat, lon=form.lon),
                radius_m=form.radius_m,
                audience=[NotificationChannel(a) for a in form.audience],
                text=form.text,
                alarm_id=form.alarm_id,
            )
        except NotAllowed as error:
            return _problem(403, "not_allowed", str(error))
        return JSONResponse({"broadcast_id": str(broadcast_id)}, status_code=202)

    @app.post(
        "/api/alarms/{alarm_id}/unmerge",
        summary="undo a merge (alarm intake)",
        responses=ACT
        | _answers(
            _409="the alarm is not a merged one (`not_merged`)",
            _502="alarm intake refused or did not answer (`intake_refused`)",
        ),
    )
    async def unmerge(alarm_id: UUID, who: Acting) -> Any:
        try:
            status, answer = await console.actions.unmerge(who, alarm_id)
        except NotAllowed as error:
            return _problem(403, "not_allowed", str(error))
        if status == 200:
            return answer
        reason = "not_merged" if status == 409 else "intake_refused"
        return _problem(409 if status in (404, 409) else 502, reason, str(answer.get("detail")))

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await serve_browser(console, websocket)

    return app


__all__ = ["create_app"]
