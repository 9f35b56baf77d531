"""One 808 connection of the TCP server, over a recording transport: frames that arrive in one
read (a terminal's burst, or reports queued while the loop was busy) are answered as if each
had come alone, in order, in one write; a bad frame among them is counted as before."""

from datetime import UTC, datetime
from types import SimpleNamespace

from kj_devices.domain.binding import Binding, Protocol
from kj_devices.domain.fixes import Fix
from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808 import header
from kj_devices.domain.jt808.framing import FrameSplitter
from kj_devices.entrypoints.jt808_server import Connection, Limits

from .test_conversation import GMT8, REG, TERMINAL

BOUND = Binding(TERMINAL, Protocol.jt808, "SY-01-C1", "auth-1234")
AT = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


class Wire:
    """A transport that keeps what is written and whether it was closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def writelines(self, lines: list[bytes]) -> None:
        self.writes.append(b"".join(lines))

    def set_write_buffer_limits(self, high: int) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def signed_in() -> tuple[Connection, Wire]:
    server = SimpleNamespace(
        terminals=SimpleNamespace(lookup={BOUND.device_id: BOUND}.get),
        limits=Limits(utc_offset=GMT8),
        now=lambda: 0.0,
        clock=0.0,
        opened=lambda connection: None,
        authenticated=lambda connection: None,
    )
    connection = Connection(server)  # type: ignore[arg-type]
    wire = Wire()
    connection.connection_made(wire)  # type: ignore[arg-type]
    for serial, msg_id, body in (
        (1, b.REGISTER, REG),
        (2, b.AUTHENTICATE, b.encode_auth("auth-1234", None)),
    ):
        connection.take(header.encode(header.Message(msg_id, TERMINAL, serial, body)), [])
    assert connection.binding is BOUND
    wire.writes.clear()
    return connection, wire


def report(serial: int, lat: float) -> bytes:
    body = b.encode_location(b.Location(0, b.STATUS_POSITIONED, lat, 111.45, 0, 300, 90, AT), GMT8)
    return header.encode(header.Message(b.LOCATION, TERMINAL, serial, body))


def heartbeat(serial: int) -> bytes:
    return header.encode(header.Message(b.HEARTBEAT, TERMINAL, serial, b""))


def answers(wire: Wire) -> list[tuple[int, int, int]]:
    """(answered serial, answered message, result) of every 0x8001 written, in order."""
    out = []
    for frame in FrameSplitter().feed(b"".join(wire.writes)):
        message = header.decode(frame)
        assert message.msg_id == b.PLATFORM_RESPONSE
        out.append(b.decode_general_response(message.body))
    return out


def test_frames_read_together_are_answered_in_order_in_one_write():
    connection, wire = signed_in()
    fixes: list[Fix] = []
    read = report(3, 27.1) + report(4, 27.2) + heartbeat(5) + report(6, 27.3)
    assert connection.take(read, fixes) == 4
    assert len(wire.writes) == 1
    assert answers(wire) == [
        (3, b.LOCATION, b.OK),
        (4, b.LOCATION, b.OK),
        (5, b.HEARTBEAT, b.OK),
        (6, b.LOCATION, b.OK),
    ]
    assert [fix.lat for fix in fixes] == [27.1, 27.2, 27.3]
    assert {fix.unit_id for fix in fixes} == {"SY-01-C1"}


def test_frames_read_together_get_the_bytes_they_get_one_read_each():
    frames = [report(3, 27.1), heartbeat(4), report(5, 27.2), report(6, 27.3)]
    together, together_wire = signed_in()
    apart, apart_wire = signed_in()
    fixes_together: list[Fix] = []
    fixes_apart: list[Fix] = []
    together.take(b"".join(frames), fixes_together)
    for frame in frames:
        apart.take(frame, fixes_apart)
    assert b"".join(together_wire.writes) == b"".join(apart_wire.writes)
    assert fixes_together == fixes_apart


def test_a_bad_frame_among_reports_is_skipped_and_the_reports_answered():
    connection, wire = signed_in()
    bad = bytearray(report(4, 27.2))
    bad[-2] ^= 0x01  # the check code
    fixes: list[Fix] = []
    connection.take(report(3, 27.1) + bytes(bad) + report(5, 27.3), fixes)
    assert answers(wire) == [(3, b.LOCATION, b.OK), (5, b.LOCATION, b.OK)]
    assert [fix.lat for fix in fixes] == [27.1, 27.3]
    assert not wire.closed


def test_bad_frames_in_a_row_drop_the_connection_after_answering_what_came_before():
    connection, wire = signed_in()
    bad = bytearray(heartbeat(4))
    bad[-2] ^= 0x01
    fixes: list[Fix] = []
    connection.take(report(3, 27.1) + bytes(bad) * 3 + report(7, 27.3), fixes)
    assert answers(wire) == [(3, b.LOCATION, b.OK)]
    assert wire.closed and connection.closing
    assert [fix.lat for fix in fixes] == [27.1]
