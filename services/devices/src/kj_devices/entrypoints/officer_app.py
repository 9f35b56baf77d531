"""The officer app (issue 18) as the gateway serves it: the installable web app's own files
under `/app/` (kj_devices/static, with the map library `make install` copies from npm), its
settings at `/app/api/config`, and its sign-in at `/app/api/session` (a ticket for notify's
socket, decision 0092). Nothing is fetched from another host; the base map is optional."""

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import structlog
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kj_devices.service_layer.locations import Locations
from kj_devices.service_layer.officer_app import sign_in
from kj_devices.settings import DevicesSettings
from kj_runtime.problems import Problem

log = structlog.get_logger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
MAP_LIBRARY = STATIC / "vendor" / "leaflet" / "leaflet-src.esm.js"


# every refusal of the gateway's HTTP API: a problem (decision 0125) whose `reason` is a code
# the app translates
Refusal = Problem

REFUSED: dict[int, dict[str, Any]] = {
    401: {"model": Refusal, "description": "no device with this id and token (`unknown_device`)"},
    503: {"model": Refusal, "description": "tickets are off here (`tickets_off`)"},
}


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: Annotated[str, Field(min_length=1, max_length=64)]
    token: Annotated[str, Field(min_length=1, max_length=256)]


def _origin(url: str | None) -> str:
    if not url or url.startswith("/"):
        return ""
    parts = urlsplit(url.replace("{s}.", ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_policy(settings: DevicesSettings) -> str:
    """The page may load only its own files, the base map's tiles and notify's socket."""
    tiles = _origin(settings.app_tile_url)
    url = settings.notify_ws_url
    if url and url.startswith("/"):
        socket = ""  # on the page's own host: 'self' covers ws: and wss: there (CSP 3)
    else:
        socket = _origin(url) or "ws: wss:"  # unset: the page's host name, port 8040
    return "; ".join(
        (
            "default-src 'self'",
            f"img-src 'self' data: {tiles}".strip(),
            f"connect-src 'self' {socket}".strip(),
            "style-src 'self' 'unsafe-inline'",  # Leaflet positions its panes with style=""
            "script-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "frame-ancestors 'none'",
        )
    )


class AppHeaders:
    """The app's pages get the content policy; everything else passes untouched (a plain ASGI
    middleware: the phones' location posts pay nothing for it)."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/app/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.policy
                headers["X-Content-Type-Options"] = "nosniff"
                # revalidated every time (an ETag answers 304): a new version shows at once,
                # and the service worker keeps a copy for a dead zone
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-cache"
            await send(message)

        await self.app(scope, receive, with_headers)


def add_officer_app(app: FastAPI, locations: Locations) -> None:
    settings = locations.settings
    if not MAP_LIBRARY.exists():
        log.warning("officer_app_map_library_missing", hint="make install copies it from npm")

    @app.post("/app/api/session", responses={401: REFUSED[401], 503: REFUSED[503]})
    async def session(body: SignIn) -> dict[str, Any]:
        """The officer app's sign-in: a ticket for notify's terminal socket."""
        signed = sign_in(locations, body.device_id, body.token)
        return {
            "unit_id": signed.unit_id,
            "ticket": signed.ticket,
            "expires_at": signed.expires_at,
            "ws_url": signed.ws_url,
        }

    @app.get("/app/api/config")
    async def config() -> dict[str, Any]:
        """What the app needs before it signs in: its base map and how often it sends fixes."""
        return {
            "tile_url": settings.app_tile_url,
            "tile_attribution": settings.app_tile_attribution,
            "position_flush_s": settings.app_position_flush_s,
        }

    @app.get("/app", include_in_schema=False)
    async def app_root() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=308)

    app.mount("/app", StaticFiles(directory=STATIC, html=True), name="officer-app")
    app.add_middleware(AppHeaders, policy=content_policy(settings))
