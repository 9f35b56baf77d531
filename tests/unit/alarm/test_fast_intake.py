"""The lean intake path in front of the alarm app's stack (decisions 0011, 0175): it answers a
valid report itself, hands everything else to the stack untouched, and a fault in the handler
is a 500 problem on that one request, never a dropped connection or a dead service."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from kj_alarm.entrypoints.auth import Caller, IntegrationTokens
from kj_alarm.entrypoints.fast_intake import FastIntake
from kj_alarm.settings import DEV_INTEGRATIONS, DEV_TOKEN
from kj_runtime.integrations import IntegrationRegistry, IntegrationSettings
from kj_schemas.alarms import AlarmReport

AUTH = {"Authorization": f"Bearer {DEV_TOKEN}"}
REPORT = {
    "source": "sy110",
    "source_alarm_id": "U-1",
    "reported_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    "location": {"lat": 27.2, "lon": 111.4},
    "category": "theft",
    "priority": 2,
}


class Stack:
    """What stands behind the lean path: it answers 299 and counts what reached it."""

    def __init__(self) -> None:
        self.reached: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.reached.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def lean(stack: Stack, *, fail: bool = False) -> FastIntake:
    async def handler(report: AlarmReport, caller: Caller) -> tuple[int, Any, dict[str, str]]:
        if fail and report.source_alarm_id == "U-bug":
            raise KeyError("a bug")
        return 201, {"alarm_id": report.source_alarm_id}, {}

    registry = IntegrationRegistry(
        None, IntegrationSettings(), service="alarm", static=DEV_INTEGRATIONS
    )
    return FastIntake(
        stack,
        tokens=IntegrationTokens(registry),
        handler=handler,
        limited=lambda wait: (429, {}, {}),
        infrastructure=(ConnectionError,),
        unavailable=lambda error: (503, {}, {}),
        max_body_bytes=4096,
    )


async def chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body


def client(app: FastIntake) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alarm")


async def test_a_valid_report_is_answered_by_the_lean_path_and_the_rest_by_the_stack() -> None:
    stack = Stack()
    async with client(lean(stack)) as c:
        answered = await c.post("/v1/alarms", json=REPORT, headers=AUTH)
        assert (answered.status_code, answered.json()) == (201, {"alarm_id": "U-1"})
        assert stack.reached == []
        no_token = await c.post("/v1/alarms", json=REPORT)
        not_a_report = await c.post("/v1/alarms", json={"source": "sy110"}, headers=AUTH)
        too_large = await c.post(
            "/v1/alarms", json={**REPORT, "description": "警" * 1500}, headers=AUTH
        )
        chunked = await c.post(  # no declared length: the stack's limit counts it
            "/v1/alarms", content=chunks(json.dumps(REPORT).encode()), headers=AUTH
        )
    assert [r.status_code for r in (no_token, not_a_report, too_large, chunked)] == [299] * 4
    assert len(stack.reached) == 4
    assert stack.reached[1] == b'{"source":"sy110"}'  # the body it read is handed on whole


async def test_a_fault_in_the_handler_is_a_500_problem_and_the_next_call_is_served() -> None:
    async with client(lean(Stack(), fail=True)) as c:
        failed = await c.post(
            "/v1/alarms", json={**REPORT, "source_alarm_id": "U-bug"}, headers=AUTH
        )
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.json()["status"] == 500
        assert "U-bug" not in failed.text
        after = await c.post("/v1/alarms", json=REPORT, headers=AUTH)
        assert after.status_code == 201
