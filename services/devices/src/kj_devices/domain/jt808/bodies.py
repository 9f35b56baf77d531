"""The message bodies the gateway reads and writes (JT/T 808-2013 and -2019, chapter 8).

Terminal → platform: 0x0001 general response, 0x0002 heartbeat, 0x0100 registration,
0x0102 authentication, 0x0200 location report, 0x0704 batch of locations.
Platform → terminal: 0x8001 general response, 0x8100 registration response, 0x8300 text.
Strings are GBK, as the standard says."""

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

from kj_devices.domain.jt808.bcd import decode_time, encode_time

TERMINAL_RESPONSE = 0x0001
HEARTBEAT = 0x0002
LOGOUT = 0x0003
REGISTER = 0x0100
AUTHENTICATE = 0x0102
LOCATION = 0x0200
LOCATION_BATCH = 0x0704
PLATFORM_RESPONSE = 0x8001
REGISTER_RESPONSE = 0x8100
TEXT = 0x8300

# 0x8001 / 0x0001 results
OK, FAILED, BAD_MESSAGE, UNSUPPORTED = 0, 1, 2, 3
# 0x8100 results
REGISTERED, VEHICLE_TAKEN, NO_SUCH_VEHICLE, TERMINAL_TAKEN, NO_SUCH_TERMINAL = 0, 1, 2, 3, 4

# location status bits (表 25)
STATUS_ACC = 1 << 0
STATUS_POSITIONED = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3

# 0x8300 flags: 2013 bit 0 emergency, bit 2 display, bit 3 read aloud (TTS); 2019 bits 0-1
# 0b10 emergency, bits 2 and 3 as in 2013
TEXT_FLAGS_2013 = 0b0000_1101
TEXT_FLAGS_2019 = 0b0000_1110
TEXT_TYPE_NOTICE = 1  # 2019's 文本类型: 1 notice, 2 service


class BodyError(ValueError):
    """A body shorter or stranger than its message id allows."""


@dataclass(frozen=True, slots=True)
class Location:
    """One 0x0200 body (位置基本信息 and its additional items, kept raw)."""

    alarm: int
    status: int
    lat: float  # degrees, south negative
    lon: float  # degrees, west negative
    altitude_m: int
    speed_kmh: float
    direction: int  # degrees from north, 0-359
    at: datetime  # UTC
    extra: bytes = b""  # additional items (附加信息), id BYTE | length BYTE | value

    @property
    def positioned(self) -> bool:
        return bool(self.status & STATUS_POSITIONED)


_BASIC = struct.Struct(">IIIIhHH6s")  # alarm, status, lat, lon, altitude, speed, direction, time


def decode_location(body: bytes, utc_offset: timedelta) -> Location:
    if len(body) < 28:
        raise BodyError(f"a location needs 28 bytes, got {len(body)}")
    alarm, status, lat, lon, altitude, speed, direction, bcd = _BASIC.unpack_from(body)
    try:
        at = decode_time(bcd, utc_offset)
    except ValueError as error:
        raise BodyError(str(error)) from error
    return Location(
        alarm,
        status,
        -lat / 1_000_000 if status & STATUS_SOUTH else lat / 1_000_000,
        -lon / 1_000_000 if status & STATUS_WEST else lon / 1_000_000,
        altitude,
        speed / 10,
        direction,
        at,
        body[28:],
    )


def encode_location(location: Location, utc_offset: timedelta) -> bytes:
    status = location.status & ~(STATUS_SOUTH | STATUS_WEST)
    if location.lat < 0:
        status |= STATUS_SOUTH
    if location.lon < 0:
        status |= STATUS_WEST
    return (
        _BASIC.pack(
            location.alarm,
            status,
            round(abs(location.lat) * 1_000_000),
            round(abs(location.lon) * 1_000_000),
            location.altitude_m,
            round(location.speed_kmh * 10),
            location.direction,
            encode_time(location.at, utc_offset),
        )
        + location.extra
    )


def decode_batch(body: bytes, utc_offset: timedelta) -> tuple[int, list[Location]]:
    """0x0704: count WORD | type BYTE (0 normal, 1 blind-area backfill) | (length WORD | 0x0200
    body) × count. Returns the type and the locations in the order sent."""
    if len(body) < 3:
        raise BodyError(f"a batch needs 3 bytes of header, got {len(body)}")
    count = int.from_bytes(body[0:2], "big")
    kind = body[2]
    at = 3
    locations: list[Location] = []
    for _ in range(count):
        if at + 2 > len(body):
            raise BodyError(f"the batch says {count} locations, holds {len(locations)}")
        length = int.from_bytes(body[at : at + 2], "big")
        item = body[at + 2 : at + 2 + length]
        if len(item) != length:
            raise BodyError("a batch item is cut short")
        locations.append(decode_location(item, utc_offset))
        at += 2 + length
    return kind, locations


def encode_batch(locations: list[bytes], kind: int = 0) -> bytes:
    out = len(locations).to_bytes(2, "big") + bytes((kind,))
    for item in locations:
        out += len(item).to_bytes(2, "big") + item
    return out


@dataclass(frozen=True, slots=True)
class Registration:
    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("gbk", "replace").strip()


def decode_registration(body: bytes, version: int | None) -> Registration:
    maker, model, ident = (5, 20, 7) if version is None else (11, 30, 30)
    fixed = 4 + maker + model + ident + 1
    if len(body) < fixed:
        raise BodyError(f"a registration needs {fixed} bytes, got {len(body)}")
    at = 4
    fields = []
    for width in (maker, model, ident):
        fields.append(_text(body[at : at + width]))
        at += width
    return Registration(
        province=int.from_bytes(body[0:2], "big"),
        city=int.from_bytes(body[2:4], "big"),
        maker=fields[0],
        model=fields[1],
        terminal_id=fields[2],
        plate_color=body[at],
        plate=_text(body[at + 1 :]),
    )


def encode_registration(reg: Registration, version: int | None) -> bytes:
    widths = (5, 20, 7) if version is None else (11, 30, 30)
    out = reg.province.to_bytes(2, "big") + reg.city.to_bytes(2, "big")
    for value, width in zip((reg.maker, reg.model, reg.terminal_id), widths, strict=True):
        out += value.encode("gbk")[:width].ljust(width, b"\x00")
    return out + bytes((reg.plate_color,)) + reg.plate.encode("gbk")


def registration_response(serial: int, result: int, auth_code: str | None) -> bytes:
    body = serial.to_bytes(2, "big") + bytes((result,))
    if result == REGISTERED and auth_code is not None:
        body += auth_code.encode("gbk")
    return body


def decode_registration_response(body: bytes) -> tuple[int, int, str | None]:
    if len(body) < 3:
        raise BodyError(f"a registration response needs 3 bytes, got {len(body)}")
    code = body[3:].decode("gbk") if body[2] == REGISTERED else None
    return int.from_bytes(body[0:2], "big"), body[2], code


def decode_auth_code(body: bytes, version: int | None) -> str:
    """2013: the whole body is the code. 2019: length BYTE | code | IMEI[15] | software[20]."""
    if version is None:
        return body.decode("gbk", "replace")
    if not body or len(body) < 1 + body[0]:
        raise BodyError("an authentication body shorter than its code length")
    return body[1 : 1 + body[0]].decode("gbk", "replace")


def encode_auth(code: str, version: int | None, imei: str = "", software: str = "") -> bytes:
    raw = code.encode("gbk")
    if version is None:
        return raw
    return (
        bytes((len(raw),))
        + raw
        + imei.encode()[:15].ljust(15, b"\x00")
        + software.encode()[:20].ljust(20, b"\x00")
    )


def general_response(serial: int, msg_id: int, result: int) -> bytes:
    """0x8001 (platform) and 0x0001 (terminal) share one body: serial, message id, result."""
    return serial.to_bytes(2, "big") + msg_id.to_bytes(2, "big") + bytes((result,))


def decode_general_response(body: bytes) -> tuple[int, int, int]:
    if len(body) < 5:
        raise BodyError(f"a general response needs 5 bytes, got {len(body)}")
    return int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:4], "big"), body[4]


def text_message(text: str, version: int | None, flags: int | None = None) -> bytes:
    """0x8300 文本信息下发: 2013 flag BYTE | text; 2019 flag BYTE | type BYTE | text."""
    raw = text.encode("gbk", "replace")
    if version is None:
        return bytes((TEXT_FLAGS_2013 if flags is None else flags,)) + raw
    return bytes((TEXT_FLAGS_2019 if flags is None else flags, TEXT_TYPE_NOTICE)) + raw


def decode_text_message(body: bytes, version: int | None) -> tuple[int, str]:
    if version is None:
        return body[0], body[1:].decode("gbk")
    return body[0], body[2:].decode("gbk")
