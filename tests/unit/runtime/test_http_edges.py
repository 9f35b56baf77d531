"""What every service's HTTP edge does, set once in the runtime: a database that does not answer
is a 503 with Retry-After, the ops routes can leave the API's port, development credentials are
refused in production, and uvicorn runs with limits."""

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import ValidationError

from kj_alarm.settings import DEV_INTEGRATIONS, AlarmSettings
from kj_notify.settings import NotifySettings
from kj_runtime.credentials import TokenTable, token_hash
from kj_runtime.host import WS_MAX_BYTES, server_options
from kj_runtime.http_errors import answer_bad_requests, answer_problems, answer_unavailable
from kj_runtime.http_ops import add_ops_routes
from kj_runtime.http_server import GuardedHttpToolsProtocol
from kj_runtime.problems import PROBLEM_JSON
from kj_runtime.settings import ServiceSettings


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://service")


async def test_a_database_that_does_not_answer_is_a_503_with_retry_after() -> None:
    """Issue 14: notify's answer route and tracking's track route answered 500 without
    Retry-After while PostgreSQL restarted."""
    app = FastAPI()

    @app.get("/down")
    async def down() -> None:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    @app.get("/closing")
    async def closing() -> None:
        raise asyncpg.InterfaceError("pool is closing")

    @app.get("/bug")
    async def bug() -> None:
        raise asyncpg.exceptions.UniqueViolationError("a bug is not an outage")

    answer_unavailable(app, retry_after_s=3)
    async with _client(app) as client:
        for path in ("/down", "/closing"):
            answer = await client.get(path)
            assert (answer.status_code, answer.headers.get("retry-after")) == (503, "3"), path
        assert (await client.get("/bug")).status_code == 500  # stays visible


async def test_a_bad_request_is_a_422_naming_the_field_without_echoing_it() -> None:
    """FastAPI's own answer repeats the input (a lone surrogate then fails it as a 500) and
    says 400, which no route documents, for a body that is not UTF-8 JSON."""
    app = FastAPI()
    refused: list[None] = []

    @app.post("/things")
    async def things(thing: dict[str, int]) -> dict[str, int]:
        return thing

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"X-Kind": "tea"})

    answer_bad_requests(app, on_refused=lambda: refused.append(None))
    headers = {"content-type": "application/json"}
    async with _client(app) as client:
        for body in (b'{"a": "\xff"}', b"\xc3("):  # not UTF-8
            answer = await client.post("/things", content=body, headers=headers)
            assert answer.status_code == 422, body
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["errors"][0]["loc"] == ["body"]
        for body in (b'{"a": "\\ud800"}', b'{"a": "\xed\xa0\x80"}', b'{"a": "139-1234-5678"}'):
            answer = await client.post("/things", content=body, headers=headers)
            assert answer.status_code == 422, body
            assert [e["loc"] for e in answer.json()["errors"]] == [["body", "a"]]
            assert b"139" not in answer.content and "input" not in answer.json()["errors"][0]
            assert answer.json()["type"] == "tag:kuaijing,2026:invalid-request"
        assert len(refused) == 5
        assert (await client.post("/things", json={"a": 1})).json() == {"a": 1}
        other = await client.get("/teapot")  # other HTTP errors keep their status and headers
        assert (other.status_code, other.headers["x-kind"]) == (418, "tea")
        assert other.json()["detail"] == "short and stout"
        assert other.json()["status"] == 418


async def test_metrics_and_api_pages_can_leave_the_api_port() -> None:
    app = FastAPI(title="probe")

    @app.get("/v1/thing")
    async def thing() -> dict[str, str]:
        return {"ok": "yes"}

    ops = add_ops_routes(app, {}, separate=True)
    assert ops is not None
    async with _client(app) as api, _client(ops) as side:
        for path in ("/metrics", "/docs", "/redoc", "/openapi.json"):
            assert (await api.get(path)).status_code == 404, path
            assert (await side.get(path)).status_code == 200, path
        for path in ("/healthz", "/readyz"):
            assert (await api.get(path)).status_code == 200
            assert (await side.get(path)).status_code == 200
        assert "/v1/thing" in (await side.get("/openapi.json")).json()["paths"]
        assert (await api.get("/v1/thing")).json() == {"ok": "yes"}


async def test_by_default_everything_stays_on_the_api_port() -> None:
    app = FastAPI()
    assert add_ops_routes(app, {}) is None
    async with _client(app) as api:
        for path in ("/metrics", "/docs", "/openapi.json", "/healthz"):
            assert (await api.get(path)).status_code == 200, path


def test_production_refuses_the_development_credentials() -> None:
    production = {"environment": "production"}  # KJ_ENVIRONMENT=production
    with pytest.raises(ValidationError, match="dev-sy110-token"):
        AlarmSettings(**production)  # the sample integration's token is the default
    with pytest.raises(ValidationError, match="dev-sy110-token"):
        AlarmSettings(**production, integrations={**DEV_INTEGRATIONS, "hs": token_hash("x")})
    assert AlarmSettings(**production, integrations={"sy110": token_hash("real")}).production
    with pytest.raises(ValidationError, match="DEV_TOKEN_SECRET"):
        NotifySettings(**production, dev_token_secret="demo")
    assert NotifySettings(**production).production


def test_development_keeps_the_sample_token_for_the_demo() -> None:
    assert not AlarmSettings().production
    assert AlarmSettings().integrations == DEV_INTEGRATIONS
    assert NotifySettings(dev_token_secret="demo").dev_token_secret is not None


def test_every_server_has_a_read_deadline_an_idle_timeout_and_a_websocket_limit() -> None:
    settings = ServiceSettings(
        http_read_timeout_s=7.5, http_idle_timeout_s=4, http_max_head_bytes=4096
    )
    options = server_options(settings)
    protocol = options["http"]
    assert issubclass(protocol, GuardedHttpToolsProtocol)
    assert (protocol.read_timeout_s, protocol.max_head_bytes) == (7.5, 4096)
    assert options["timeout_keep_alive"] == 4
    assert options["ws_max_size"] == WS_MAX_BYTES < 16 * 1024 * 1024  # uvicorn's default
    assert options["server_header"] is False


def test_a_token_table_names_the_holder_of_a_token_and_nobody_else() -> None:
    table = TokenTable({"sy110": token_hash("one"), "hs110": token_hash("two")})
    assert (table.holder("one"), table.holder("two"), table.holder("three")) == (
        "sy110",
        "hs110",
        None,
    )


async def test_every_error_of_a_hosted_app_is_a_problem_and_its_openapi_says_so() -> None:
    """Issue 19: errors came in three shapes; now one (RFC 9457), with a stable type each."""
    app = FastAPI()

    @app.get("/things/{n}", responses={404: {"description": "no such thing"}})
    async def thing(n: int) -> dict[str, int]:
        if n == 0:
            raise HTTPException(404, "no such thing")
        if n == 1:
            raise RuntimeError("a bug")
        if n == 2:
            raise asyncpg.exceptions.CannotConnectNowError("starting up")
        return {"n": n}

    answer_problems(app, retry_after_s=2)
    async with _client(app) as client:
        answers = {
            "missing": await client.get("/things/0"),
            "bug": await client.get("/things/1"),
            "down": await client.get("/things/2"),
            "invalid": await client.get("/things/x"),
            "no route": await client.get("/elsewhere"),
            "method": await client.delete("/things/3"),
        }
        document = (await client.get("/openapi.json")).json()
    kinds = {what: a.json()["type"].rsplit(":", 1)[1] for what, a in answers.items()}
    assert kinds == {
        "missing": "not-found",
        "bug": "internal-error",
        "down": "unavailable",
        "invalid": "invalid-request",
        "no route": "not-found",
        "method": "method-not-allowed",
    }
    for what, answer in answers.items():
        assert answer.headers["content-type"] == PROBLEM_JSON, what
        assert answer.json()["status"] == answer.status_code, what
    assert answers["down"].json()["retry_after_s"] == 2
    assert answers["invalid"].json()["errors"][0]["loc"] == ["path", "n"]
    assert "a bug" not in answers["bug"].text
    responses = document["paths"]["/things/{n}"]["get"]["responses"]
    for status in ("404", "422"):
        assert list(responses[status]["content"]) == [PROBLEM_JSON], status
    assert "HTTPValidationError" not in document["components"]["schemas"]
