"""Health, readiness and metrics endpoints, the same on every service; and its API pages served
without a CDN (the host calls `add_ops_routes` on every service's app).

`/metrics` and the API pages (`/docs`, `/redoc`, `/openapi.json`) can be closed to whoever
reaches the API: with `separate`, they move to an app of their own, which the host serves on
the ops port (`ops_port`, decision 0073); `/healthz` and `/readyz` stay on both.

`/metrics` is written in a worker thread (decision 0183): at a province's scale dispatch's
exposition is 1.7 MB, and writing it on the event loop held every call in flight there for
230-300 ms, at every scrape. It carries no `_created` line per counter and histogram child
(decision 0184): Prometheus stores each as a series of its own, and no panel or rule reads one."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics, generate_latest
from starlette.routing import BaseRoute

from kj_runtime.http_docs import serve_docs_offline

ReadinessCheck = Callable[[], Awaitable[bool]]


def add_ops_routes(
    app: FastAPI, checks: dict[str, ReadinessCheck], *, separate: bool = False
) -> FastAPI | None:
    """Adds the probes to `app`, and `/metrics` with the API pages to `app` or, with
    `separate`, to a new app that is returned (the API's pages describe `app`)."""
    probes = _probes(checks)
    app.include_router(probes)
    if not separate:
        app.include_router(_metrics())
        serve_docs_offline(app)
        return None
    ops = FastAPI(
        title=app.title,
        version=app.version,
        description=app.description,
        openapi_url=app.openapi_url,
        docs_url=app.docs_url,
        redoc_url=app.redoc_url,
    )
    ops.openapi = app.openapi  # type: ignore[method-assign]  # the API's document, not ops'
    pages = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes[:] = [r for r in app.router.routes if _path(r) not in pages - {None}]
    app.openapi_url = app.docs_url = app.redoc_url = None
    ops.include_router(probes)
    ops.include_router(_metrics())
    serve_docs_offline(ops)
    return ops


def _path(route: BaseRoute) -> str | None:
    return getattr(route, "path", None)


def _probes(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process serves requests."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(response: Response) -> dict[str, object]:
        """Readiness: every dependency answers."""
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await check()
            except Exception:  # a failing dependency is an answer, not a crash
                results[name] = False
        ready = all(results.values())
        response.status_code = 200 if ready else 503
        return {"ready": ready, "checks": results}

    return router


def _metrics() -> APIRouter:
    disable_created_metrics()  # for the whole process: the page is its only reader
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics() -> Response:
        # prometheus_client reads its values under their own locks; the thread and the loop
        # share the GIL, so the loop waits at most a switch interval (5 ms) at a time
        body = await asyncio.to_thread(generate_latest)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
