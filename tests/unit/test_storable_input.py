"""Whatever a contract accepts, PostgreSQL stores and every read gives back (issue 14: a report
of year 1 or 9999 was stored, then every read of it answered 500; a NUL in a description was a
500, and on `alarms.intake` it was retried 188 times). Both ways in are the same models: the
HTTP route validates Python objects (`json.loads` keeps a lone surrogate), Kafka decodes bytes."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from kj_schemas import codec
from kj_schemas.alarms import AlarmAccepted, AlarmMerged, AlarmReport
from kj_schemas.deadletter import DeadLetter
from kj_schemas.examples import EXAMPLES
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.workorders import CommandNotice

REPORT = next(e.valid for e in EXAMPLES if e.model is AlarmReport)
ACCEPTED = next(e.valid for e in EXAMPLES if e.model is AlarmAccepted)


def both_ways(model: type[Any], body: dict[str, Any]) -> None:
    """Refused by the HTTP path (validation of the parsed JSON) and by Kafka's (bytes)."""
    with pytest.raises(ValidationError):
        model.model_validate(json.loads(json.dumps(body)))
    with pytest.raises((ValidationError, ValueError)):
        codec.decode(model, json.dumps(body).encode())


@pytest.mark.parametrize("field", ["description", "address"])
@pytest.mark.parametrize("bad", ["有人\x00要跳河", "\x00", "half of a pair \ud800"])
def test_text_postgresql_cannot_store_is_refused(field: str, bad: str) -> None:
    both_ways(AlarmReport, {**REPORT, field: bad})


def test_text_with_any_other_character_is_taken() -> None:
    text = "有人要跳河 🚨\t\n\u2028 tab, newline, emoji and a line separator"
    assert AlarmReport.model_validate({**REPORT, "description": text}).description == text


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


@pytest.mark.parametrize(
    "reported_at",
    [
        "0001-01-01T00:00:00+08:00",  # year 0 in UTC: Python cannot read it back
        "9999-12-31T23:59:59-08:00",  # year 10000 in UTC
        "1969-12-31T23:59:59Z",
        timedelta(days=1, minutes=5),  # a clock more than a day fast
        -timedelta(days=366),  # more than a year ago
    ],
)
def test_a_report_time_outside_a_year_before_and_a_day_after_now_is_refused(
    reported_at: str | timedelta,
) -> None:
    # relative to the time the test runs, not when it was collected (a suite takes minutes)
    at = _at(reported_at) if isinstance(reported_at, timedelta) else reported_at
    both_ways(AlarmReport, {**REPORT, "reported_at": at})


@pytest.mark.parametrize(
    "delta", [timedelta(days=1) - timedelta(minutes=5), -timedelta(days=364, hours=23)]
)
def test_a_report_time_just_inside_the_window_is_taken(delta: timedelta) -> None:
    AlarmReport.model_validate({**REPORT, "reported_at": _at(delta)})


def test_times_of_internal_messages_need_only_be_storable() -> None:
    """A message between services may be old (a replay, a restored alarm): only the record's
    range applies to it, not the report window."""
    old = {**ACCEPTED, "reported_at": "2020-01-01T00:00:00Z", "received_at": "2020-01-01T00:00:01Z"}
    AlarmAccepted.model_validate(old)
    both_ways(AlarmAccepted, {**ACCEPTED, "received_at": "0001-01-01T00:00:00+08:00"})


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (DeliveryReceipt, "delivery_id", 2**63),  # terminal_deliveries.seq is a bigint
        (AlarmMerged, "callers", 2**31),  # alarms.callers is an integer
        (CommandNotice, "target_seconds", 2**31),
        (DeadLetter, "partition", 2**31),
        (DeadLetter, "offset", 2**63),
    ],
)
def test_numbers_beyond_their_column_are_refused(model: type[Any], field: str, value: int) -> None:
    example = next(e.valid for e in EXAMPLES if e.model is model)
    both_ways(model, {**example, field: value})
    model.model_validate({**example, field: value - 1})  # the column's largest is taken


def test_dispatch_never_gets_or_keeps_a_callers_phone_number() -> None:
    """`alarms.accepted` carries no phone number; one written before this change carries it,
    and reading it drops the number, so dispatch (which stores the message it read) never keeps
    it (decision 0077)."""
    assert "caller_phone" not in AlarmAccepted.model_fields
    old = {**ACCEPTED, "caller_phone": "13807391234"}
    read = codec.decode(AlarmAccepted, json.dumps(old).encode())
    assert "13807391234" not in read.model_dump_json()
    same = AlarmAccepted.model_validate({**ACCEPTED, "message_id": str(read.message_id)})
    assert read == same
