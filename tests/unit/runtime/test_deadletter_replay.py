"""Which dead letters can be sent again, byte for byte, and which are refused with the reason;
the filters of `kj-infra deadletters`."""

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kj_runtime.deadletter_replay import Found, NotReplayable, matches, original_record
from kj_runtime.deadletters import EXCERPT_BYTES, KEY_CHARS, dead_letter_for
from kj_runtime.deadletters_cli import since
from kj_runtime.settings import KafkaSettings
from kj_schemas.deadletter import DeadLetter


@dataclass
class Record:
    value: bytes | None
    key: bytes | None = b"SY-P01-C1"
    topic: str = "kj.patrol.pings"
    partition: int = 2
    offset: int = 41


def letter_for(record: Record) -> DeadLetter:
    return dead_letter_for(record, service="tracking", reason="schema", detail="bad")


@pytest.mark.parametrize(
    "record",
    [
        Record(b'{"unit_id": "SY-P01-C1", "lat": 27.2}'),
        Record('{"description": "有人要跳河"}'.encode()),
        Record(b"\xff\xfe\x00 not text", key=None),  # kept as base64
        Record(b'{"a": "\x00"}', key="报警-1".encode()),
        Record(b"x" * EXCERPT_BYTES),  # exactly the excerpt's size: still whole
    ],
)
def test_a_whole_record_comes_back_byte_for_byte_with_its_key(record: Record) -> None:
    assert original_record(letter_for(record)) == (record.key, record.value)


def test_a_truncated_record_is_refused_and_told_where_it_still_is() -> None:
    letter = letter_for(Record(b"x" * (EXCERPT_BYTES + 1)))
    with pytest.raises(NotReplayable) as refused:
        original_record(letter)
    assert str(refused.value).startswith("truncated")
    assert f"{EXCERPT_BYTES + 1:,}-byte record" in str(refused.value)
    assert "kj.patrol.pings partition 2 offset 41" in str(refused.value)


def test_a_letter_that_does_not_give_the_records_size_is_refused() -> None:
    """notify's failed callbacks write such letters: their value is the body as text."""
    letter = letter_for(Record(b"{}")).model_copy(update={"value_bytes": None})
    with pytest.raises(NotReplayable, match="does not say how large"):
        original_record(letter)


def test_an_excerpt_shorter_than_the_record_it_claims_is_refused() -> None:
    letter = letter_for(Record(b"{}")).model_copy(update={"value_bytes": 3})
    with pytest.raises(NotReplayable, match="holds 2 bytes of a 3-byte record"):
        original_record(letter)


@pytest.mark.parametrize("key", [b"\xff\xfe", b"k" * KEY_CHARS, b"k" * (KEY_CHARS + 5)])
def test_a_key_not_kept_whole_is_refused(key: bytes) -> None:
    with pytest.raises(NotReplayable, match="key was not kept whole"):
        original_record(letter_for(Record(b"{}", key=key)))


def test_an_empty_record_is_refused() -> None:
    with pytest.raises(NotReplayable, match="nothing to send"):
        original_record(letter_for(Record(None)))


def test_filters_by_source_topic_time_and_place() -> None:
    kafka = KafkaSettings(topic_prefix="kj.")
    letter = letter_for(Record(b"{}"))
    found = Found(1, 7, letter)
    assert matches(found, kafka)
    assert matches(found, kafka, source_topic="patrol.pings")  # the catalogue's name
    assert matches(found, kafka, source_topic="kj.patrol.pings")  # or the full one
    assert not matches(found, kafka, source_topic="alarms.intake")
    assert matches(found, kafka, since=letter.failed_at - timedelta(seconds=1))
    assert not matches(found, kafka, since=letter.failed_at + timedelta(seconds=1))
    assert matches(found, kafka, at=["0:3", "1:7"])
    assert not matches(found, kafka, at=["1:8"])
    garbage = Found(0, 3, None, "not a dead letter")
    assert matches(garbage, kafka, at=["0:3"]) and not matches(garbage, kafka, since=AGO)


AGO = datetime(2026, 1, 1, tzinfo=UTC)


def test_since_takes_a_duration_or_a_time_with_its_offset() -> None:
    assert abs((datetime.now(UTC) - since("2h")) - timedelta(hours=2)) < timedelta(seconds=5)
    assert abs((datetime.now(UTC) - since("90m")) - timedelta(minutes=90)) < timedelta(seconds=5)
    assert since("2026-12-01T08:00+08:00") == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    for bad in ("2026-12-01T08:00", "yesterday", "2 h"):
        with pytest.raises(argparse.ArgumentTypeError):
            since(bad)
