"""Health, readiness and metrics endpoints, the same on every service; and its API pages served
without a CDN (every service builds its app, then calls `add_ops_routes`)."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kj_runtime.http_docs import serve_docs_offline

ReadinessCheck = Callable[[], Awaitable[bool]]


def add_ops_routes(app: FastAPI, checks: dict[str, ReadinessCheck]) -> None:
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

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    serve_docs_offline(app)
