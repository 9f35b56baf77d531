"""Escaping, check codes, the splitter's bounds, and a property test: whatever a terminal or the
platform encodes decodes to the same message, through any way TCP cuts the stream."""

from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import xor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808 import header
from kj_devices.domain.jt808.framing import (
    FrameError,
    FrameSplitter,
    check_code,
    escape,
    open_frame,
    unescape,
    wrap,
)


def test_flag_and_escape_bytes_are_escaped_and_restored():
    # the standard's own example (4.4.2): 0x30 0x7e 0x08 0x7d 0x55 is sent as
    # 0x30 0x7d 0x02 0x08 0x7d 0x01 0x55
    raw = bytes.fromhex("307e087d55")
    assert escape(raw) == bytes.fromhex("307d02087d0155")
    assert unescape(bytes.fromhex("307d02087d0155")) == raw


def test_a_lone_escape_byte_is_refused():
    with pytest.raises(FrameError) as refused:
        unescape(bytes.fromhex("307d0355"))
    assert refused.value.reason == "bad_escape"


@given(st.binary(max_size=300))
def test_check_code_is_the_xor_of_every_byte(data: bytes):
    assert check_code(data) == reduce(xor, data, 0)


@given(st.binary(max_size=300))
def test_escape_round_trips_and_leaves_no_flag_inside(data: bytes):
    escaped = escape(data)
    assert b"\x7e" not in escaped
    assert unescape(escaped) == data


def test_a_wrong_check_code_is_refused():
    raw = bytes.fromhex("000200000430483254650001")
    assert wrap(raw) == b"\x7e" + escape(raw + bytes((check_code(raw),))) + b"\x7e"
    with pytest.raises(FrameError) as refused:
        open_frame(escape(raw + bytes((check_code(raw) ^ 0x01,))))
    assert refused.value.reason == "bad_check_code"


def test_a_stream_without_a_closing_flag_is_refused_once_it_outgrows_any_frame():
    splitter = FrameSplitter(max_escaped=100)
    assert splitter.feed(b"\x7e" + b"\x01" * 60) == []
    with pytest.raises(FrameError) as refused:
        splitter.feed(b"\x01" * 60)
    assert refused.value.reason == "frame_too_long"


def test_bytes_without_any_flag_are_counted_not_kept():
    splitter = FrameSplitter()
    assert splitter.feed(b"GET / HTTP/1.1\r\n" * 100) == []
    assert splitter.skipped == 1600


def test_a_length_that_disagrees_with_the_body_is_refused():
    raw = header.serialize(header.Message(0x0002, "13800138000", 1, b""))
    raw = raw[:3] + b"\x05" + raw[4:]  # the properties now claim a 5-byte body
    with pytest.raises(FrameError) as refused:
        header.parse(raw)
    assert refused.value.reason == "bad_length"


phones = st.text(alphabet="0123456789", min_size=1, max_size=12).map(lambda s: s.lstrip("0") or "1")
messages = st.builds(
    header.Message,
    msg_id=st.integers(0, 0xFFFF),
    phone=phones,
    serial=st.integers(0, 0xFFFF),
    body=st.binary(max_size=1023),
    version=st.one_of(st.none(), st.integers(0, 255)),
    encryption=st.integers(0, 7),
    packets=st.one_of(st.none(), st.tuples(st.integers(1, 0xFFFF), st.integers(1, 0xFFFF))),
)


@given(st.lists(messages, min_size=1, max_size=4), st.data())
def test_messages_round_trip_through_any_cut_of_the_stream(batch, data):
    stream = b"".join(header.encode(m) for m in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    splitter = FrameSplitter()
    frames: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        frames += splitter.feed(stream[start:cut])
        start = cut
    decoded = [header.decode(f) for f in frames]
    expected = [
        header.Message(
            m.msg_id,
            header.phone_digits(m.phone, m.version),
            m.serial,
            m.body,
            m.version,
            m.encryption,
            m.packets,
        )
        for m in batch
    ]
    assert decoded == expected
    assert all(d.terminal == m.phone for d, m in zip(decoded, batch, strict=True))


when = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)


@given(
    lat=st.integers(-90_000_000, 90_000_000),
    lon=st.integers(-180_000_000, 180_000_000),
    speed=st.integers(0, 0xFFFF),
    direction=st.integers(0, 359),
    altitude=st.integers(-32768, 32767),
    at=when,
    status=st.integers(0, 0xFFFFFFFF),
    alarm=st.integers(0, 0xFFFFFFFF),
    offset_h=st.integers(-12, 14),
)
def test_locations_round_trip(lat, lon, speed, direction, altitude, at, status, alarm, offset_h):
    zone = timedelta(hours=offset_h)
    location = b.Location(
        alarm, status, lat / 1e6, lon / 1e6, altitude, speed / 10, direction, at, b"\x01\x04abcd"
    )
    decoded = b.decode_location(b.encode_location(location, zone), zone)
    assert (decoded.lat, decoded.lon, decoded.speed_kmh, decoded.at) == (
        location.lat,
        location.lon,
        location.speed_kmh,
        at,
    )
    assert decoded.alarm == alarm and decoded.direction == direction
    assert decoded.altitude_m == altitude and decoded.extra == location.extra


def test_a_batch_keeps_its_order():
    zone = timedelta(hours=8)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        b.encode_location(b.Location(0, 2, 27.2 + i / 1000, 111.4, 0, 30, 90, at, b""), zone)
        for i in range(5)
    ]
    kind, locations = b.decode_batch(b.encode_batch(items, kind=1), zone)
    assert kind == 1
    assert [round(loc.lat, 3) for loc in locations] == [27.2, 27.201, 27.202, 27.203, 27.204]


def test_a_batch_that_claims_more_than_it_holds_is_refused():
    with pytest.raises(b.BodyError):
        b.decode_batch(b"\x00\x03\x00\x00\x05abcde", timedelta(hours=8))


def test_an_impossible_bcd_time_is_a_body_error():
    body = bytes(22) + bytes.fromhex("261399250000")  # the 99th of the 13th month
    with pytest.raises(b.BodyError):
        b.decode_location(body, timedelta(hours=8))


@pytest.mark.parametrize("version", [None, 1])
def test_registration_and_text_bodies_round_trip_in_both_versions(version):
    registration = b.Registration(43, 500, "KJ", "KJ-T1", "T0001", 1, "湘E·A1234")
    assert b.decode_registration(b.encode_registration(registration, version), version) == (
        registration
    )
    assert b.decode_text_message(b.text_message("请前往西湖桥", version), version)[1] == (
        "请前往西湖桥"
    )
    assert b.decode_auth_code(b.encode_auth("code-1", version), version) == "code-1"
