"""Published JT/T 808 frames decoded field by field. Each frame is quoted byte for byte from the
test vectors of Traccar, the open-source tracking server (Apache-2.0), at commit
9e5c458ad0bf44ceaddf72534bf6874787f41b6c:
- T-DEC: src/test/java/org/traccar/protocol/Jt808ProtocolDecoderTest.java
- T-ENC: src/test/java/org/traccar/protocol/Jt808ProtocolEncoderTest.java
- T-FRM: src/test/java/org/traccar/protocol/Jt808FrameDecoderTest.java
Traccar's tests assert a few attributes each; the field values below were read off the bytes
by hand (offsets in the comments) and agree with Traccar's decoder where it asserts them.
Times are BCD in the terminal's zone, GMT+8 unless said otherwise (Traccar's default too)."""

from datetime import UTC, datetime, timedelta

import pytest

from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808 import header
from kj_devices.domain.jt808.framing import FrameError, FrameSplitter

GMT8 = timedelta(hours=8)


def one(hexframe: str) -> header.Message:
    frames = FrameSplitter().feed(bytes.fromhex(hexframe))
    assert len(frames) == 1
    return header.decode(frames[0])


def test_a_2013_location_report_from_jakarta_south_of_the_equator():
    # T-DEC, verifyPosition after the "cardCode"-free block: a 0x0200 with the south bit set
    hexframe = (
        "7e0200002c00160128561400030000000000040007005de13c065c6cdb0016000000001701171005"
        "4201040000a9002a02000030011b310104e47e"
    )
    message = one(hexframe)
    assert message.msg_id == b.LOCATION
    assert message.version is None  # properties 0x002c: no 2019 flag, body of 44 bytes
    assert message.phone == "001601285614" and message.terminal == "1601285614"
    assert message.serial == 3
    location = b.decode_location(message.body, GMT8)
    assert location.alarm == 0
    assert location.status == 0x00040007  # ACC on, positioned, south latitude, bit 18
    assert location.positioned
    assert location.lat == -6.152508  # 0x005de13c millionths, south
    assert location.lon == 106.720475  # 0x065c6cdb
    assert location.altitude_m == 22  # 0x0016
    assert location.speed_kmh == 0.0 and location.direction == 0
    assert location.at == datetime(2017, 1, 17, 2, 5, 42, tzinfo=UTC)  # BCD 170117100542 GMT+8
    assert location.extra[:2] == b"\x01\x04"  # additional item 0x01 (mileage), 4 bytes
    assert header.encode(message) == bytes.fromhex(hexframe)


def test_a_location_without_a_fix_says_so_in_its_status():
    # T-DEC, the frame before the Jakarta one: status 0x00040001 (ACC on, not positioned)
    message = one(
        "7e0200002c00160128561400020000000000040001005de1f7065c6cef0000000000001701171004"
        "4201040000a9002a02000030011b3101030c7e"
    )
    location = b.decode_location(message.body, GMT8)
    assert not location.positioned
    assert location.lat == 6.152695  # no south bit: the receiver has no fix to sign


def test_west_longitude_and_an_alarm_bit():
    # T-DEC, "7e0200002e094027587492000a...": a UK terminal, alarm bit 0 (emergency) set
    message = one(
        "7e0200002e094027587492000a000000010000000a03083db7001329f30000001400001304121649"
        "52010400000012360a0002341502cb0c20085c107e"
    )
    assert message.terminal == "94027587492" and message.serial == 10
    location = b.decode_location(message.body, GMT8)
    assert location.alarm == 1
    assert location.status == 0x0A  # positioned, west longitude
    assert (location.lat, location.lon) == (50.871735, -1.255923)
    assert location.speed_kmh == 2.0  # 0x0014 tenths of km/h
    assert location.at == datetime(2013, 4, 12, 8, 49, 52, tzinfo=UTC)  # 130412164952 GMT+8


def test_a_2013_registration():
    # T-DEC, verifyNull "7e0100002d0070899944890028...": 0x0100, terminal 007089994489
    message = one(
        "7e0100002d007089994489002800000000000000000048422d523033474244000000000000000000"
        "000031393036373531024142433030303030d17e"
    )
    assert message.msg_id == b.REGISTER and message.serial == 0x28
    registration = b.decode_registration(message.body, message.version)
    assert registration.model == "HB-R03GBD"  # 20 bytes, NUL-padded
    assert registration.terminal_id == "1906751"  # 7 bytes
    assert registration.plate_color == 2  # 2 = yellow plate
    assert registration.plate == "ABC00000"


def test_a_2019_registration_has_a_version_byte_and_a_20_digit_number():
    # T-DEC, verifyNull "7e0100405c01...": properties 0x405c (2019 flag, 92 bytes), version 1
    message = one(
        "7e0100405c010000086649607758216452180000000000000000000000000000004d443330300000"
        "00000000000000000000000000000000000000000000003836363439363037373538323136340000"
        "0000000000000000000000000004000000000000000000000000000000007a7e"
    )
    assert message.version == 1
    assert message.phone == "00000866496077582164"  # BCD[10]
    assert message.terminal == "866496077582164"
    assert message.serial == 0x5218
    registration = b.decode_registration(message.body, message.version)
    assert registration.model == "MD300"  # 30 bytes in 2019
    assert registration.terminal_id == "866496077582164"  # 30 bytes in 2019
    assert registration.plate_color == 4 and registration.plate == ""


def test_a_2019_batch_of_one_location():
    # T-DEC, "7e0704402d01...": 0x0704, count 1, type 0 (normal), one 40-byte location
    message = one(
        "7e0704402d0100000866496077582164881d0001000028000000000000000701a00192091f2a4700"
        "160000000226050916422701040000258230010031010e507e"
    )
    assert message.msg_id == b.LOCATION_BATCH and message.version == 1
    kind, locations = b.decode_batch(message.body, GMT8)
    assert kind == 0 and len(locations) == 1
    location = locations[0]
    assert location.status == 7  # ACC, positioned, south
    assert (location.lat, location.lon) == (-27.263378, 153.037383)
    assert location.direction == 2
    assert location.at == datetime(2026, 5, 9, 8, 42, 27, tzinfo=UTC)  # 260509164227 GMT+8


def test_a_heartbeat_has_an_empty_body():
    # T-DEC, verifyNull "7e0002000004304832546500b7ca7e"
    message = one("7e0002000004304832546500b7ca7e")
    assert message.msg_id == b.HEARTBEAT and message.body == b"" and message.serial == 0xB7


def test_a_2013_authentication_body_is_the_code_itself():
    # T-DEC, verifyNull "7e010200204f07788ef676...": 0x0102, 32 bytes of code
    message = one(
        "7e010200204f07788ef67601824f4459344f544d314d4459774d4441314d444977626d5633553235"
        "536457786cba7e"
    )
    assert message.msg_id == b.AUTHENTICATE and message.serial == 0x0182
    assert b.decode_auth_code(message.body, None) == "ODY4OTM1MDYwMDA1MDIwbmV3U25SdWxl"


def test_a_text_dispatch_encodes_as_traccar_sends_it():
    # T-ENC: "7e830000140b3a73ce2ff2000001546573742c20436f6d6d616e642c2031323323a57e",
    # flag 0x01 (emergency), text "Test, Command, 123#", serial 0, check code 0xa5
    body = b.text_message("Test, Command, 123#", None, flags=0x01)
    frame = header.encode(header.Message(b.TEXT, "0b3a73ce2ff2", 0, body))
    assert frame.hex() == "7e830000140b3a73ce2ff2000001546573742c20436f6d6d616e642c2031323323a57e"


def test_an_engine_stop_frame_shows_the_2013_header_layout():
    # T-ENC: "7e810500010b3a73ce2ff20000f0247e", 0x8105 terminal control, body 0xf0
    frame = header.encode(header.Message(0x8105, "0b3a73ce2ff2", 0, b"\xf0"))
    assert frame.hex() == "7e810500010b3a73ce2ff20000f0247e"


def test_noise_before_a_frame_is_skipped():
    # T-FRM: "24247e307d02087d01557e" frames as "7e307e087d557e" once unescaped
    splitter = FrameSplitter()
    frames = splitter.feed(bytes.fromhex("24247e307d02087d01557e"))
    assert frames == [bytes.fromhex("307d02087d0155")]
    assert splitter.skipped == 2


def test_a_flipped_bit_fails_the_check_code():
    good = "7e0002000004304832546500b7ca7e"
    bad = good[:20] + "01" + good[22:]  # the phone's last byte 0x65 → 0x01
    with pytest.raises(FrameError) as refused:
        one(bad)
    assert refused.value.reason == "bad_check_code"
