"""HTTP: ops routes, one unit's track in a time window, and the check-in report."""

from datetime import datetime

import asyncpg
from fastapi import FastAPI, HTTPException

from kj_runtime.http_ops import add_ops_routes
from kj_tracking.adapters.records import checkpoints_not_visited
from kj_tracking.adapters.tracks import unit_track
from kj_tracking.bootstrap import TrackingService


def make_app(service: TrackingService) -> FastAPI:
    app = FastAPI(title="patrol tracking")
    pool: asyncpg.Pool = service.pool

    async def database() -> bool:
        return bool(await pool.fetchval("select 1"))

    async def started() -> bool:
        return service.ready.is_set()

    add_ops_routes(app, {"postgres": database, "consuming": started})

    @app.get("/units/{unit_id}")
    async def unit_state(unit_id: str) -> dict[str, object]:
        unit = service.tracker.units.get(unit_id)
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
        if unit_id not in service.tracker.units:
            raise HTTPException(404, f"no unit {unit_id}")
        async with pool.acquire() as connection:
            points = await unit_track(connection, unit_id, start, end)
        return [
            {"fix_at": p.fix_at, "lat": p.lat, "lon": p.lon, "speed_kmh": p.speed_kmh}
            for p in points
        ]

    @app.get("/platforms/{platform_id}/checkpoints/not-visited")
    async def not_visited(platform_id: str, start: datetime, end: datetime) -> list[str]:
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(422, "start and end need a timezone offset")
        async with pool.acquire() as connection:
            missed = await checkpoints_not_visited(connection, platform_id, start, end)
        return [m.checkpoint_id for m in missed]

    return app
