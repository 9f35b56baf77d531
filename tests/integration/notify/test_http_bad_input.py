"""What schemathesis cannot send, sent by hand: a body with a lone surrogate (JSON's "\\ud800"
or its raw bytes) or one that is not UTF-8 is a 422 that names the field, never a 500 (FastAPI's
own answer echoed the input and could not encode it), and the answer repeats nothing that was
sent."""

import uuid

import httpx
import pytest

from .conftest import INTEGRATION_TOKEN, RunningNotify, unit
from .terminal_client import token_for

BODIES = [
    (b'{"kind": "\\ud800"}', ["body", "kind"]),
    (b'{"kind": "accepted", "reason": "\xed\xa0\x80"}', ["body", "reason"]),
    (b'{"kind": "acc\xffepted"}', ["body"]),  # not UTF-8
]
CALLBACKS = [
    (b'{"url": "http://x.example/\\udfff", "signing_secret": "0123456789abcdef"}', ["body", "url"]),
    (b'{"url": "http://x.example/", "signing_secret": "\xff0123456789abcdef"}', ["body"]),
]


@pytest.mark.parametrize(("body", "loc"), BODIES)
async def test_an_answer_with_a_lone_surrogate_or_not_utf8_is_a_422(
    notify: RunningNotify, body: bytes, loc: list[str]
) -> None:
    unit_id = unit("BAD")
    headers = {
        "Authorization": f"Bearer {token_for(unit_id)}",
        "X-KJ-Unit": unit_id,
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient(base_url=notify.http) as client:
        answer = await client.post(
            f"/v1/workorders/{uuid.uuid4()}/events", content=body, headers=headers
        )
    assert answer.status_code == 422, answer.text
    assert [error["loc"] for error in answer.json()["errors"]] == [loc]
    assert "input" not in answer.json()["errors"][0]


@pytest.mark.parametrize(("body", "loc"), CALLBACKS)
async def test_a_callback_registration_with_a_lone_surrogate_or_not_utf8_is_a_422(
    notify: RunningNotify, body: bytes, loc: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {INTEGRATION_TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=notify.http) as client:
        answer = await client.put("/v1/integrations/sy110/callback", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert [error["loc"] for error in answer.json()["errors"]] == [loc]
    assert b"0123456789abcdef" not in answer.content
