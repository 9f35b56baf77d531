"""The message header (消息头), 2013 and 2019 forms, over unescaped bytes:

    2013: id WORD | properties WORD | terminal phone BCD[6]  | serial WORD | [packets: 2 WORD]
    2019: id WORD | properties WORD | version BYTE | phone BCD[10] | serial WORD | [packets]

Properties: bits 0-9 body length, 10-12 encryption, 13 split into packets, 14 the 2019 version
flag. A 2013 terminal is answered with 2013 headers, a 2019 one with 2019 headers."""

from dataclasses import dataclass
from functools import lru_cache

from kj_devices.domain.jt808.framing import FrameError, open_frame, wrap

VERSION_FLAG = 0x4000
PACKETS_FLAG = 0x2000
ENCRYPTION_MASK = 0x1C00
LENGTH_MASK = 0x03FF


@dataclass(frozen=True, slots=True)
class Message:
    msg_id: int
    phone: str  # the BCD digits of the terminal's number, as the header carries them
    serial: int  # 消息流水号, the sender's counter
    body: bytes
    version: int | None = None  # None: a 2013 header; else the 2019 protocol version
    encryption: int = 0  # bits 10-12: 0 = none, 1 = RSA
    packets: tuple[int, int] | None = None  # (total, index from 1) of a split message

    @property
    def terminal(self) -> str:
        """The terminal number without the zeros that pad it to 12 or 20 digits: a terminal
        keeps its number when it moves from a 2013 to a 2019 header."""
        return self.phone.lstrip("0") or "0"


@lru_cache(maxsize=65536)  # one per terminal: the check below is not paid per reply
def _phone_bcd(terminal: str, version: int | None) -> bytes:
    return bytes.fromhex(phone_digits(terminal, version))


def phone_digits(terminal: str, version: int | None) -> str:
    width = 12 if version is None else 20
    if len(terminal) > width or not all(c in "0123456789abcdefABCDEF" for c in terminal):
        raise ValueError(f"terminal number {terminal!r} does not fit {width} BCD digits")
    return terminal.rjust(width, "0").lower()


def parse(raw: bytes) -> Message:
    """Header + body (unescaped, check code removed) → Message; raises FrameError."""
    if len(raw) < 12:
        raise FrameError("too_short", f"{len(raw)} bytes cannot hold a header")
    msg_id = int.from_bytes(raw[0:2], "big")
    props = int.from_bytes(raw[2:4], "big")
    if props & VERSION_FLAG:
        if len(raw) < 17:
            raise FrameError("too_short", f"{len(raw)} bytes cannot hold a 2019 header")
        version: int | None = raw[4]
        phone = raw[5:15].hex()
        serial = int.from_bytes(raw[15:17], "big")
        at = 17
    else:
        version = None
        phone = raw[4:10].hex()
        serial = int.from_bytes(raw[10:12], "big")
        at = 12
    packets = None
    if props & PACKETS_FLAG:
        if len(raw) < at + 4:
            raise FrameError("too_short", "the header says packets but has no packet fields")
        packets = (
            int.from_bytes(raw[at : at + 2], "big"),
            int.from_bytes(raw[at + 2 : at + 4], "big"),
        )
        at += 4
    body = raw[at:]
    if len(body) != props & LENGTH_MASK:
        raise FrameError(
            "bad_length", f"the header says {props & LENGTH_MASK} body bytes, {len(body)} came"
        )
    return Message(msg_id, phone, serial, body, version, (props & ENCRYPTION_MASK) >> 10, packets)


def decode(escaped: bytes) -> Message:
    """The bytes between two flags → Message (unescape, check code, header); raises FrameError."""
    return parse(open_frame(escaped))


def serialize(message: Message) -> bytes:
    """Header + body, unescaped, without the check code."""
    if len(message.body) > LENGTH_MASK:
        raise ValueError(f"a body of {len(message.body)} bytes must be split into packets")
    props = len(message.body) | (message.encryption << 10)
    head = message.msg_id.to_bytes(2, "big")
    if message.version is not None:
        props |= VERSION_FLAG
    if message.packets is not None:
        props |= PACKETS_FLAG
    head += props.to_bytes(2, "big")
    if message.version is not None:
        head += bytes((message.version,))
    head += _phone_bcd(message.phone, message.version)
    head += message.serial.to_bytes(2, "big")
    if message.packets is not None:
        head += message.packets[0].to_bytes(2, "big") + message.packets[1].to_bytes(2, "big")
    return head + message.body


def encode(message: Message) -> bytes:
    """Message → the bytes on the wire, flags included."""
    return wrap(serialize(message))
