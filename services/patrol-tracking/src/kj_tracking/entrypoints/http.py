"""HTTP: one unit's live state and its track in a time window, and the check-in report, for an
operator who may see them (`access.py`); the ops routes are added by the service host."""

from datetime import datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel

from kj_runtime.http_errors import answer_bad_requests
from kj_runtime.problems import Problem, problem
from kj_schemas.base import PlatformId, RecentTimestamp, UnitId
from kj_tracking.entrypoints.access import Operator, Operators
from kj_tracking.service_layer import views
from kj_tracking.service_layer.tracker import Tracker


class UnitView(BaseModel):
    unit_id: str
    status: str
    lat: float
    lon: float
    fix_ts: float
    work_order_id: str | None = None


class TrackPoint(BaseModel):
    fix_at: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None


class Unauthorized(Exception):
    pass


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no or bad operator credentials"},
    503: {"model": Problem, "description": "the database does not answer; retry later"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such unit this operator may see"}
}


BAD_WINDOW: dict[int | str, dict[str, Any]] = {
    422: {
        "model": Problem,
        "description": "a bad id or window: start after end, longer than allowed, not recent",
    }
}


def make_app(
    tracker: Tracker, pool: asyncpg.Pool, operators: Operators, *, max_track: timedelta
) -> FastAPI:
    app = FastAPI(title="patrol tracking", version="1.0.0")
    answer_bad_requests(app)

    async def operator(authorization: Annotated[str | None, Header()] = None) -> Operator:
        found = operators.from_header(authorization)
        if found is None:
            raise Unauthorized()
        return found

    Caller = Annotated[Operator, Depends(operator)]

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Any, __: Exception) -> Response:
        return problem(
            401, "an operator's bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )

    def visible(unit_id: str, caller: Operator) -> None:
        unit = tracker.units.get(unit_id)
        if unit is None or not caller.sees(unit.platform_id):
            raise HTTPException(404, "no such unit")

    def window(start: datetime, end: datetime) -> None:
        if end < start or end - start > max_track:
            hours = max_track.total_seconds() / 3600
            message = f"give start <= end, at most {hours:g} hours apart"
            raise RequestValidationError(
                [{"loc": ("query", "end"), "msg": message, "type": "value_error"}]
            )

    @app.get("/units/{unit_id}", response_model=UnitView, responses={**NOT_FOUND, **ERRORS})
    async def unit_state(unit_id: UnitId, caller: Caller) -> dict[str, object]:
        visible(unit_id, caller)
        unit = tracker.units[unit_id]
        return {
            "unit_id": unit.unit_id,
            "status": unit.status.value,
            "lat": unit.lat,
            "lon": unit.lon,
            "fix_ts": unit.fix_ts,
            "work_order_id": unit.work_order_id,
        }

    @app.get(
        "/units/{unit_id}/track",
        response_model=list[TrackPoint],
        responses={**NOT_FOUND, **BAD_WINDOW, **ERRORS},
    )
    async def track(
        unit_id: UnitId, start: RecentTimestamp, end: RecentTimestamp, caller: Caller
    ) -> list[dict[str, object]]:
        visible(unit_id, caller)
        window(start, end)
        points = await views.track(pool, unit_id, start, end)
        return [
            {"fix_at": p.fix_at, "lat": p.lat, "lon": p.lon, "speed_kmh": p.speed_kmh}
            for p in points
        ]

    @app.get(
        "/platforms/{platform_id}/checkpoints/not-visited",
        response_model=list[str],
        responses={
            404: {"model": Problem, "description": "no such platform this operator may see"},
            **BAD_WINDOW,
            **ERRORS,
        },
    )
    async def not_visited(
        platform_id: PlatformId, start: RecentTimestamp, end: RecentTimestamp, caller: Caller
    ) -> list[str]:
        if not caller.sees(platform_id):
            raise HTTPException(404, "no such platform")
        window(start, end)
        return await views.checkpoints_missed(pool, platform_id, start, end)

    return app
