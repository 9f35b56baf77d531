"""A plain location report read in one step gives exactly what the general path gives: the same
0x8001 bytes and the same fix; anything it does not take, it leaves to the general path."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kj_devices.domain.binding import Binding, Protocol
from kj_devices.domain.conversation import Conversation
from kj_devices.domain.coords import Datum
from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808 import header

from .test_conversation import GMT8, REG, TERMINAL

BOUND = Binding(TERMINAL, Protocol.jt808, "SY-01-C1", "auth-1234")


def pair(binding: Binding, version: int | None, serial: int) -> tuple[Conversation, Conversation]:
    """Two conversations in the same state: signed in, the platform's counter at `serial`."""
    made = []
    for _ in range(2):
        talk = Conversation({binding.device_id: binding}.get, GMT8)
        for msg_id, body in (
            (b.REGISTER, REG),
            (b.AUTHENTICATE, b.encode_auth("auth-1234", version)),
        ):
            frame = header.encode(header.Message(msg_id, TERMINAL, 1, body, version))
            talk.receive(header.decode(frame[1:-1]))
        talk._serial = serial
        made.append(talk)
    return made[0], made[1]


reports = st.fixed_dictionaries(
    {
        "lat": st.floats(-89.9, 89.9).filter(lambda x: abs(x) > 1e-3),
        "lon": st.floats(-179.9, 179.9).filter(lambda x: abs(x) > 1e-3),
        "speed": st.floats(0, 6000),
        "direction": st.integers(0, 400),
        "status": st.integers(0, 2**32 - 1),
        "alarm": st.integers(0, 2**32 - 1),
        "at": st.datetimes(datetime(2001, 1, 1), datetime(2098, 12, 30)),
        "extra": st.binary(max_size=40),
        "serial": st.integers(0, 0xFFFF),
        "platform_serial": st.integers(0, 0xFFFF),
        "version": st.sampled_from([None, 1]),
        "datum": st.sampled_from(list(Datum)),
    }
)


@given(reports)
def test_a_report_read_in_one_step_is_answered_and_read_as_the_general_path_would(r):
    binding = Binding(TERMINAL, Protocol.jt808, "SY-01-C1", "auth-1234", r["datum"])
    location = b.Location(
        r["alarm"],
        r["status"],
        r["lat"],
        r["lon"],
        0,
        round(r["speed"], 1),
        r["direction"],
        r["at"].replace(microsecond=0, tzinfo=UTC),
        r["extra"],
    )
    body = b.encode_location(location, GMT8)
    frame = header.encode(header.Message(b.LOCATION, TERMINAL, r["serial"], body, r["version"]))
    quick, general = pair(binding, r["version"], r["platform_serial"])
    read = quick.report(frame[1:-1])
    outcome = general.receive(header.decode(frame[1:-1]))
    if read is None:  # escaped bytes, no fix, a fix refused: the general path's to take
        assert quick._serial == r["platform_serial"]
        escaped = b"\x7d" in frame
        assert escaped or not outcome.fixes or outcome.refused_fixes
        return
    reply, fix = read
    assert [reply] == outcome.replies
    assert [fix] == outcome.fixes
    assert quick._serial == general._serial


def test_the_answer_to_a_serial_that_needs_escaping_is_escaped():
    quick, general = pair(BOUND, None, 0x7D - 1)  # the next platform serial is 0x007d
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    body = b.encode_location(b.Location(0, 2, 27.24, 111.47, 0, 36.5, 90, at), GMT8)
    frame = header.encode(header.Message(b.LOCATION, TERMINAL, 1, body))
    read = quick.report(frame[1:-1])
    outcome = general.receive(header.decode(frame[1:-1]))
    assert read is not None
    assert [read[0]] == outcome.replies
    assert read[0].count(b"\x7e") == 2 and b"\x7d\x01" in read[0]


def test_a_bad_check_code_another_number_or_another_message_is_left_to_the_general_path():
    quick, _ = pair(BOUND, None, 0)
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    body = b.encode_location(b.Location(0, 2, 27.24, 111.47, 0, 36.5, 90, at), GMT8)
    good = header.encode(header.Message(b.LOCATION, TERMINAL, 5, body))[1:-1]
    assert quick.report(good) is not None
    assert quick.report(good[:-1] + bytes((good[-1] ^ 1,))) is None
    other = header.encode(header.Message(b.LOCATION, "13900139000", 5, body))[1:-1]
    assert quick.report(other) is None
    heartbeat = header.encode(header.Message(b.HEARTBEAT, TERMINAL, 6, b""))[1:-1]
    assert quick.report(heartbeat) is None


def test_nothing_is_read_in_one_step_before_authentication():
    talk = Conversation({TERMINAL: BOUND}.get, GMT8)
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC) - timedelta(hours=1)
    body = b.encode_location(b.Location(0, 2, 27.24, 111.47, 0, 36.5, 90, at), GMT8)
    frame = header.encode(header.Message(b.LOCATION, TERMINAL, 5, body))
    assert talk.report(frame[1:-1]) is None
