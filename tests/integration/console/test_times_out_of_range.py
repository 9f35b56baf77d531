"""Times a person gives the console's API are bounded (issue 14): a track window in year 1, or
an audit page before 9999, was a 500 (the window's arithmetic or the database driver
overflowed), and a window ending in 9999 was taken; each is a 422 naming the field."""

from typing import Any

import pytest

from .conftest import Person

pytestmark = pytest.mark.usefixtures("console")


@pytest.mark.parametrize(
    "query",
    [
        {"until": "0001-01-01T00:00:00Z"},
        {"since": "0001-01-01T00:00:00+08:00"},
        {"since": "2026-01-01T00:00:00Z", "until": "9999-12-31T23:59:59-08:00"},
    ],
)
async def test_a_track_window_out_of_range_is_a_422(sign_in: Any, query: dict[str, str]) -> None:
    person: Person = await sign_in("zhang_wei")
    answer = await person.client.get("/api/units/SY-P01-C1/track", params=query)
    assert answer.status_code == 422, answer.text
    assert {e["loc"][-1] for e in answer.json()["errors"]} <= {"since", "until"}


async def test_an_audit_cursor_out_of_range_is_a_422(sign_in: Any) -> None:
    person: Person = await sign_in("chen_jie")
    answer = await person.client.get("/api/audit", params={"before": "9999-12-31T23:59:59-08:00"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["query", "before"]
