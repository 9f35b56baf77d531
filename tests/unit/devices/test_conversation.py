"""An 808 terminal's conversation with the gateway, message by message (no sockets)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from kj_devices.domain.binding import Binding, Protocol
from kj_devices.domain.conversation import Conversation
from kj_devices.domain.coords import Datum, wgs84_to_gcj02
from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808 import header

GMT8 = timedelta(hours=8)
TERMINAL = "13800138000"
BOUND = Binding(TERMINAL, Protocol.jt808, "SY-01-C1", "auth-1234")


def lookup(bindings: dict[str, Binding]):
    return bindings.get


def msg(
    msg_id: int, body: bytes = b"", serial: int = 1, version: int | None = None
) -> header.Message:
    raw = header.encode(header.Message(msg_id, TERMINAL, serial, body, version))
    return header.decode(raw[1:-1])


def replies(frames: list[bytes]) -> list[header.Message]:
    return [header.decode(f[1:-1]) for f in frames]


REG = b.encode_registration(b.Registration(43, 500, "KJ", "T1", "0001", 1, "湘E1"), None)


def location(lat=27.24, lon=111.47, at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC), status=2):
    return b.encode_location(b.Location(0, status, lat, lon, 50, 36.5, 90, at), GMT8)


def signed_in(binding: Binding = BOUND, version: int | None = None) -> Conversation:
    talk = Conversation(lookup({binding.device_id: binding}), GMT8)
    talk.receive(msg(b.REGISTER, REG, version=version))
    talk.receive(msg(b.AUTHENTICATE, b.encode_auth(binding.secret, version), version=version))
    assert talk.unit_id == binding.unit_id
    return talk


def test_a_known_terminal_registers_authenticates_and_reports():
    talk = Conversation(lookup({TERMINAL: BOUND}), GMT8)
    out = talk.receive(msg(b.REGISTER, REG, serial=7))
    (answer,) = replies(out.replies)
    assert answer.msg_id == b.REGISTER_RESPONSE
    assert b.decode_registration_response(answer.body) == (7, b.REGISTERED, "auth-1234")
    out = talk.receive(msg(b.AUTHENTICATE, b.encode_auth("auth-1234", None), serial=8))
    assert b.decode_general_response(replies(out.replies)[0].body) == (8, b.AUTHENTICATE, b.OK)
    out = talk.receive(msg(b.LOCATION, location(), serial=9))
    assert b.decode_general_response(replies(out.replies)[0].body) == (9, b.LOCATION, b.OK)
    (fix,) = out.fixes
    assert fix.unit_id == "SY-01-C1" and (fix.lat, fix.lon) == (27.24, 111.47)
    assert fix.speed_kmh == 36.5 and fix.heading_deg == 90
    assert fix.ts == datetime(2026, 3, 1, 8, 0, tzinfo=UTC).timestamp()
    assert out.close is None


def test_an_unknown_terminal_is_told_so_and_the_connection_closes():
    talk = Conversation(lookup({}), GMT8)
    out = talk.receive(msg(b.REGISTER, REG))
    assert b.decode_registration_response(replies(out.replies)[0].body)[1] == b.NO_SUCH_TERMINAL
    assert out.close == "unknown_terminal"


def test_a_wrong_authentication_code_closes_the_connection():
    talk = Conversation(lookup({TERMINAL: BOUND}), GMT8)
    out = talk.receive(msg(b.AUTHENTICATE, b.encode_auth("guess", None)))
    assert b.decode_general_response(replies(out.replies)[0].body)[2] == b.FAILED
    assert out.close == "auth_failed" and talk.unit_id is None


def test_nothing_but_sign_in_is_taken_before_authentication():
    talk = Conversation(lookup({TERMINAL: BOUND}), GMT8)
    out = talk.receive(msg(b.LOCATION, location()))
    assert out.fixes == [] and out.close == "not_authenticated"


def test_an_http_device_cannot_sign_in_over_808():
    phone = Binding(TERMINAL, Protocol.http, "SY-01-C1", "whatever")
    talk = Conversation(lookup({TERMINAL: phone}), GMT8)
    assert talk.receive(msg(b.REGISTER, REG)).close == "unknown_terminal"


def test_a_2019_terminal_is_answered_with_2019_headers():
    talk = signed_in(version=1)
    out = talk.receive(msg(b.HEARTBEAT, version=1))
    (answer,) = replies(out.replies)
    assert answer.version == 1 and answer.terminal == TERMINAL


def test_a_location_without_a_fix_is_answered_but_not_passed_on():
    talk = signed_in()
    out = talk.receive(msg(b.LOCATION, location(status=0)))
    assert out.fixes == [] and out.refused_fixes == ["not_positioned"]
    assert b.decode_general_response(replies(out.replies)[0].body)[2] == b.OK


def test_a_batch_after_a_dead_zone_comes_out_in_order():
    talk = signed_in()
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    items = [location(lat=27.24 + i / 1000, at=start + timedelta(seconds=i)) for i in range(4)]
    out = talk.receive(msg(b.LOCATION_BATCH, b.encode_batch(items, kind=1)))
    assert [f.ts - start.timestamp() for f in out.fixes] == [0, 1, 2, 3]


def test_a_terminal_that_declares_gcj02_is_moved_back_to_wgs84():
    binding = Binding(TERMINAL, Protocol.jt808, "SY-01-C1", "auth-1234", Datum.gcj02)
    talk = signed_in(binding)
    glat, glon = wgs84_to_gcj02(27.24, 111.47)
    out = talk.receive(msg(b.LOCATION, location(lat=round(glat, 6), lon=round(glon, 6))))
    (fix,) = out.fixes
    assert abs(fix.lat - 27.24) < 2e-6 and abs(fix.lon - 111.47) < 2e-6  # the 1e-6° wire step


def test_a_broken_location_body_is_answered_as_such():
    talk = signed_in()
    out = talk.receive(msg(b.LOCATION, b"\x00" * 10))
    assert b.decode_general_response(replies(out.replies)[0].body)[2] == b.BAD_MESSAGE
    assert out.close is None


def test_another_terminal_number_on_the_same_connection_ends_it():
    talk = signed_in()
    other = header.decode(header.encode(header.Message(b.HEARTBEAT, "13999999999", 3, b""))[1:-1])
    assert talk.receive(other).close == "terminal_changed"


def test_the_terminal_confirming_a_text_acknowledges_its_work_order():
    talk = signed_in()
    order = uuid4()
    sent = replies([talk.text("请前往西湖桥", order)])[0]
    assert sent.msg_id == b.TEXT
    assert b.decode_text_message(sent.body, None) == (b.TEXT_FLAGS_2013, "请前往西湖桥")
    answer = b.general_response(sent.serial, b.TEXT, b.OK)
    out = talk.receive(msg(b.TERMINAL_RESPONSE, answer))
    assert out.acknowledged == order and out.replies == []
    assert talk.receive(msg(b.TERMINAL_RESPONSE, answer)).acknowledged is None  # once
