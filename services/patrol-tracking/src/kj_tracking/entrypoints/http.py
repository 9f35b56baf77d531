"""HTTP: ops routes, one unit's track in a time window, and the check-in report."""

from datetime import datetime

import asyncpg
from fastapi import FastAPI, HTTPException

from kj_tracking.service_layer import views
from kj_tracking.service_layer.tracker import Tracker


def make_app(tracker: Tracker, pool: asyncpg.Pool) -> FastAPI:
    """The ops routes (/healthz, /readyz, /metrics) are added by the service host."""
    app = FastAPI(title="patrol tracking")

    @app.get("/units/{unit_id}")
    async def unit_state(unit_id: str) -> dict[str, object]:
        unit = tracker.units.get(unit_id)
        if unit is None:
            raise HTTPException(404, f"no unit {unit_id}")
        return {
            "unit_id": unit.unit_id,
            "status": unit.status.value,
            "lat": unit.lat,
            "lon": unit.lon,
            "fix_ts": unit.fix_ts,
            "work_order_id": unit.work_order_id,
        }

    @app.get("/units/{unit_id}/track")
    async def track(unit_id: str, start: datetime, end: datetime) -> list[dict[str, object]]:
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(422, "start and end need a timezone offset")
        if unit_id not in tracker.units:
            raise HTTPException(404, f"no unit {unit_id}")
        points = await views.track(pool, unit_id, start, end)
        return [
            {"fix_at": p.fix_at, "lat": p.lat, "lon": p.lon, "speed_kmh": p.speed_kmh}
            for p in points
        ]

    @app.get("/platforms/{platform_id}/checkpoints/not-visited")
    async def not_visited(platform_id: str, start: datetime, end: datetime) -> list[str]:
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(422, "start and end need a timezone offset")
        return await views.checkpoints_missed(pool, platform_id, start, end)

    return app
