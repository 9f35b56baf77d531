"""A read never fails for what the API accepted (issue 14: a report of year 1 or 9999 was
accepted, stored, and then every read of that alarm and every board page holding it answered
500; a NUL in a description was a 500 instead of a 422). The most extreme reports the contract
takes go in, every view reads them back; just past each bound is a 422."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from kj_schemas.enums import AlarmCategory

from .conftest import AUTH, report


def at(delta: timedelta, offset_hours: int) -> str:
    """Now plus `delta`, when the test runs (a suite takes minutes after collecting it)."""
    return (
        (datetime.now(UTC) + delta).astimezone(timezone(timedelta(hours=offset_hours))).isoformat()
    )


def extremes() -> list[dict[str, Any]]:
    return [
        {
            "reported_at": at(-timedelta(days=365) + timedelta(minutes=10), 14),
            "location": {"lat": 90.0, "lon": 180.0},
            "priority": 1,
            "description": "𝄞" * 2000,  # 2,000 characters of 4 bytes each
            "address": "邵阳市" * 66 + "西湖",  # 200 characters
            "caller_phone": "+" + "9" * 20,
            "source_alarm_id": "X" + "9_.:/-" * 21 + "Z",  # 128 characters
        },
        {
            "reported_at": at(timedelta(days=1) - timedelta(minutes=10), -12),
            "location": {"lat": -90.0, "lon": -180.0},
            "priority": 4,
            "description": "a\tb\nc\u2028d\u00a0e\ufeff",  # controls PostgreSQL stores
            "address": "x",
        },
        {"location": {"lat": 0.0, "lon": 0.0}, "reported_at": at(timedelta(0), 0)},
        *({"category": str(c), "location": {"lat": 26.0, "lon": 110.0}} for c in AlarmCategory),
    ]


async def test_the_most_extreme_accepted_reports_read_back_on_every_view(
    client: httpx.AsyncClient,
) -> None:
    ids: list[str] = []
    for overrides in extremes():
        body = report(**overrides)
        answer = await client.post("/v1/alarms", json=body, headers=AUTH)
        assert answer.status_code == 201, (overrides, answer.text)
        ids.append(answer.json()["alarm_id"])
        again = await client.post("/v1/alarms", json=body, headers=AUTH)  # the repeat reads it
        assert again.status_code == 200, again.text
    for alarm_id in ids:
        story = await client.get(f"/v1/alarms/{alarm_id}", headers=AUTH)
        assert story.status_code == 200, story.text
    seen: set[str] = set()
    since = at(-timedelta(days=365) + timedelta(minutes=1), 14)
    for status in ("open", "accepted", "merged", "diverted", "assigned", "on_scene", "closed"):
        for params in ({"status": status}, {"status": status, "since": since}):
            cursor: str | None = None
            for _ in range(10_000):  # every page, 7 alarms at a time
                page = await client.get(
                    "/v1/alarms",
                    params={**params, "limit": "7", **({"cursor": cursor} if cursor else {})},
                    headers=AUTH,
                )
                assert page.status_code == 200, page.text
                seen |= {item["alarm_id"] for item in page.json()["items"]}
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    break
    assert set(ids) <= seen


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reported_at", "0001-01-01T00:00:00+08:00"),
        ("reported_at", "9999-12-31T23:59:59-08:00"),
        ("reported_at", timedelta(days=1, minutes=10)),  # from now, when the test runs
        ("reported_at", -timedelta(days=365, minutes=10)),
        ("description", "有人\x00要跳河"),
        ("address", "\x00"),
        ("priority", 2**63),
        ("location", {"lat": 1e308, "lon": 0}),
        ("source_alarm_id", "A\x00B"),
    ],
)
async def test_just_past_each_bound_is_a_422_that_names_the_field(
    client: httpx.AsyncClient, field: str, value: Any
) -> None:
    if isinstance(value, timedelta):
        value = at(value, 8)
    answer = await client.post("/v1/alarms", json=report(**{field: value}), headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert any(field in error["loc"] for error in answer.json()["errors"])


async def test_a_lone_surrogate_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    """`json.loads` (FastAPI's parser) keeps "\\ud800" as a lone surrogate, which the driver
    cannot encode."""
    body = report().copy()
    raw = httpx.Request("POST", "/", json=body).content.replace(
        b'"category"', b'"description": "half \\ud800 of a pair", "category"'
    )
    headers = {**AUTH, "content-type": "application/json"}
    answer = await client.post("/v1/alarms", content=raw, headers=headers)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(
    "params",
    [
        {"since": "0001-01-01T00:00:00+08:00"},
        {"since": "9999-12-31T23:59:59-08:00"},
        {"limit": str(2**63)},
        {"cursor": "\x00"},
        {"status": "\x00"},
    ],
)
async def test_the_board_refuses_what_it_cannot_read_with_a_422(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    answer = await client.get("/v1/alarms", params=params, headers=AUTH)
    assert answer.status_code == 422, answer.text


async def test_an_unknown_alarm_id_is_404_and_a_malformed_one_422(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get(f"/v1/alarms/{uuid.uuid4()}", headers=AUTH)).status_code == 404
    assert (await client.get("/v1/alarms/%00", headers=AUTH)).status_code == 422
