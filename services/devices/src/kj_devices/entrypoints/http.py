"""The gateway's HTTP surface for phones:

- `GET|POST /` and `/osmand`: the OsmAnd / Traccar Client protocol, one fix in the query
  (`id`, `lat`, `lon`, `timestamp` in epoch seconds, milliseconds or ISO 8601, `speed` in knots
  as Traccar Client sends it, `bearing`, `accuracy`, `altitude`);
- `POST /v1/locations`: a JSON batch `{"device_id", "fixes": [{"ts", "lat", "lon",
  "speed_kmh"?, "heading_deg"?, "accuracy_m"?}]}`, up to 1,000 fixes, taken in time order.

Both authenticate the device with `Authorization: Bearer <token>`; OsmAnd-style clients that
cannot set a header may put the token in the `key` parameter (decision 0090). The officer app
is served beside them (kj_devices.entrypoints.officer_app).

The OpenAPI document lists `GET /` with its query and `POST /v1/locations` with its body,
though both handlers read the request themselves (their own lenient parsing and refusals), and
every refusal they give (decision 0079): what the fuzzing and an integrator read. `/osmand` and
the form `POST` are the same handler under other names, left out of it."""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Header, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kj_devices.entrypoints.officer_app import REFUSED, Refusal, add_officer_app
from kj_devices.metrics import FIXES, HTTP_REFUSED
from kj_devices.service_layer.locations import Locations, RawFix, Refused
from kj_runtime.http_errors import answer_bad_requests
from kj_runtime.openapi import request_body
from kj_runtime.problems import kind_of, problem

KNOT_KMH = 1.852
MAX_BATCH = 1000


class BatchFix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: Annotated[str, Field(min_length=1, max_length=64)]
    fixes: Annotated[list[BatchFix], Field(min_length=1, max_length=MAX_BATCH)]


class RefusedFix(BaseModel):
    index: int
    reason: str


class BatchAnswer(BaseModel):
    accepted: int
    refused: list[RefusedFix]


def _query(name: str, kind: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": kind}, "description": description}


OSMAND_QUERY = [
    _query("id", "string", "the device's id (or `deviceid`)"),
    _query("lat", "number", "latitude, in the device's registered datum"),
    _query("lon", "number", "longitude, in the device's registered datum"),
    _query("timestamp", "string", "epoch seconds or milliseconds, or ISO 8601"),
    _query("speed", "number", "knots"),
    _query("bearing", "number", "degrees"),
    _query("accuracy", "number", "metres"),
    _query("altitude", "number", "metres"),
    _query("key", "string", "the device's token, for clients that cannot set a header"),
]
for required in OSMAND_QUERY[:4]:
    required["required"] = True
OSMAND_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "taken"},
    400: {"model": Refusal, "description": "a parameter missing or not a number or time"},
    401: REFUSED[401],
    422: {"model": Refusal, "description": "no usable position or time in the fix"},
}


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _number(params: dict[str, str], name: str) -> float | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise Refused(400, "bad_parameter", f"{name}={value!r} is not a number") from None


def _timestamp(value: str | None) -> float:
    if not value:
        raise Refused(400, "bad_parameter", "timestamp is required")
    try:
        number = float(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise Refused(400, "bad_parameter", f"timestamp={value!r} is no time") from None
    return number / 1000 if number > 1e11 else number  # milliseconds from some clients


async def _form(request: Request) -> dict[str, str]:
    """A POST's url-encoded fields (Traccar Client posts with the fix in the query and nothing
    in the body). Read here, not with `request.form()`, which needs python-multipart for any
    body and answered every POST with a 500 without it; a body of another type is ignored."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=100))
    except ValueError:
        raise Refused(400, "bad_parameter", "more than 100 fields") from None


def osmand_fix(params: dict[str, str]) -> RawFix:
    lat, lon = _number(params, "lat"), _number(params, "lon")
    if lat is None or lon is None:
        raise Refused(400, "bad_parameter", "lat and lon are required")
    speed = _number(params, "speed")
    return RawFix(
        ts=_timestamp(params.get("timestamp")),
        lat=lat,
        lon=lon,
        speed_kmh=speed * KNOT_KMH if speed is not None else None,
        heading_deg=_number(params, "bearing"),
        accuracy_m=_number(params, "accuracy"),
    )


def make_app(locations: Locations) -> FastAPI:
    app = FastAPI(title="kj-devices", version="1")
    answer_bad_requests(app)  # the officer app's sign-in: a 422 that echoes nothing

    @app.exception_handler(Refused)
    async def refused(_request: Any, error: Refused) -> Response:
        HTTP_REFUSED.labels(error.reason).inc()
        return problem(error.status, error.detail, kind=kind_of(error.reason), reason=error.reason)

    async def osmand(request: Request) -> PlainTextResponse:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        token = bearer(request.headers.get("authorization")) or params.get("key")
        binding = locations.authenticate(params.get("id") or params.get("deviceid"), token)
        taken = locations.take(binding, [osmand_fix(params)])
        FIXES.labels("osmand", "accepted").inc(taken.accepted)
        if taken.refused:
            FIXES.labels("osmand", taken.refused[0][1]).inc()
            raise Refused(422, taken.refused[0][1], "the fix holds no usable position")
        return PlainTextResponse("OK")

    app.add_api_route(
        "/",
        osmand,
        methods=["GET"],
        summary="one fix, OsmAnd / Traccar Client style",
        responses=OSMAND_ANSWERS,
        openapi_extra={"parameters": OSMAND_QUERY},
    )
    app.add_api_route("/", osmand, methods=["POST"], include_in_schema=False)
    app.add_api_route("/osmand", osmand, methods=["GET", "POST"], include_in_schema=False)

    @app.post(
        "/v1/locations",
        summary="a batch of fixes, taken in time order",
        response_model=BatchAnswer,
        responses={
            401: REFUSED[401],
            422: {"model": Refusal, "description": "the body is not a batch (`reason` schema)"},
        },
        openapi_extra=request_body(Batch),
    )
    async def batch(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        try:
            body = Batch.model_validate_json(await request.body())
        except ValidationError as error:
            detail = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:10]
            )
            raise Refused(422, "schema", detail) from None
        binding = locations.authenticate(body.device_id, bearer(authorization))
        taken = locations.take(
            binding,
            [
                RawFix(f.ts.timestamp(), f.lat, f.lon, f.speed_kmh, f.heading_deg, f.accuracy_m)
                for f in body.fixes
            ],
        )
        FIXES.labels("http_batch", "accepted").inc(taken.accepted)
        for _, reason in taken.refused:
            FIXES.labels("http_batch", reason).inc()
        return {
            "accepted": taken.accepted,
            "refused": [{"index": i, "reason": reason} for i, reason in taken.refused],
        }

    add_officer_app(app, locations)  # after the routes above: it mounts /app
    return app
