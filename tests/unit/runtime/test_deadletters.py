"""A dead letter always fits on the broker, whatever the record it stands for: a bounded
excerpt, the record's whole size and its place to find it again."""

from dataclasses import dataclass

from kj_runtime.deadletters import EXCERPT_BYTES, dead_letter_for
from kj_schemas.codec import decode, encode
from kj_schemas.deadletter import DeadLetter

PRODUCER_LIMIT = 1_048_576  # aiokafka's max_request_size, and the broker's default


@dataclass
class Record:
    value: bytes | None
    key: bytes | None = b"SY-P01-C1"
    topic: str = "patrol.pings"
    partition: int = 2
    offset: int = 41


def test_a_one_megabyte_record_becomes_a_small_dead_letter_that_says_how_big_it_was() -> None:
    raw = b'{"unit_id": "' + b"x" * 1_048_576 + b'"}'
    letter = dead_letter_for(Record(raw), service="tracking", reason="schema", detail="too big")
    wire = encode(letter)
    assert len(wire) < EXCERPT_BYTES * 2 < PRODUCER_LIMIT
    assert (letter.value_bytes, letter.truncated) == (len(raw), True)
    assert letter.value == raw[:EXCERPT_BYTES].decode()
    assert decode(DeadLetter, wire) == letter


def test_binary_and_nul_values_are_kept_as_base64() -> None:
    for raw in (b"\xff\xfe\x00garbage", b'{"description": "a\x00b"}'):
        letter = dead_letter_for(Record(raw), service="alarm", reason="schema", detail="x")
        assert (letter.value_encoding, letter.truncated) == ("base64", False)


def test_a_cut_through_a_chinese_character_keeps_the_text_before_it() -> None:
    raw = ("报警" * EXCERPT_BYTES).encode()  # 3 bytes a character: the cut splits one
    letter = dead_letter_for(Record(raw), service="alarm", reason="schema", detail="x")
    assert letter.value_encoding == "utf-8"
    assert raw.decode().startswith(letter.value)
    assert len(letter.value.encode()) > EXCERPT_BYTES - 3


def test_the_place_key_and_cause_are_kept_and_bounded() -> None:
    letter = dead_letter_for(
        Record(b"{}", key=b"k" * 5000), service="dispatch", reason="schema", detail="d" * 9000
    )
    assert (letter.source_topic, letter.partition, letter.offset) == ("patrol.pings", 2, 41)
    assert letter.key is not None and len(letter.key) == 1024
    assert len(letter.detail) == 4000


def test_a_tombstone_is_an_empty_value() -> None:
    letter = dead_letter_for(Record(None), service="tracking", reason="schema", detail="none")
    assert (letter.value, letter.value_bytes) == ("", 0)
