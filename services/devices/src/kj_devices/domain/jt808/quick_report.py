"""A plain location report (0x0200) read and answered in one step: what nearly every frame of an
authenticated terminal is, once a second. The general path (unescape, header, body, fix, then
a `Message` encoded for the 0x8001) builds about ten objects and costs about 20 µs a report; this
one unpacks header and body with one struct, checks the code, and answers from a reply prefix
made once per connection.

It takes only what it can answer exactly as the general path would: no escaped bytes, no
packets or encryption, a positioned fix that `make_fix` keeps. Anything else returns None and
the general path takes the frame (and counts, refuses or closes as it always did). A property
test holds the two paths to the same reply and the same fix."""

import struct
from datetime import timedelta
from functools import lru_cache, reduce
from operator import xor

from kj_devices.domain.binding import Binding
from kj_devices.domain.fixes import Fix, FixRefused, make_fix
from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808.bcd import decode_time
from kj_devices.domain.jt808.framing import check_code, wrap
from kj_devices.domain.jt808.header import (
    LENGTH_MASK,
    VERSION_FLAG,
    Message,
    phone_digits,
    serialize,
)

LOCATION_ID = b.LOCATION.to_bytes(2, "big")
# header and the 28 bytes of 位置基本信息, 2013 and 2019 forms
_REPORT_2013 = struct.Struct(">HH6sHIIIIhHH6s")
_REPORT_2019 = struct.Struct(">HHB10sHIIIIhHH6s")
_TAIL = struct.Struct(">HHHB")  # platform serial | answered serial, message id, result
_ENDINGS = tuple(bytes((check, 0x7E)) for check in range(256))
_NEEDS_ESCAPE = frozenset((0x7D, 0x7E))
_FIXED_FLAGS = ~LENGTH_MASK & 0xFFFF  # version, packets and encryption bits


@lru_cache(maxsize=4096)  # thousands of terminals report the same second
def _epoch(bcd: bytes, utc_offset: timedelta) -> float:
    return decode_time(bcd, utc_offset).timestamp()


class QuickReports:
    """Built when a terminal has authenticated: its header form, number and binding."""

    __slots__ = (
        "binding",
        "flags",
        "head",
        "layout",
        "phone",
        "prefix",
        "prefix_check",
        "utc_offset",
        "version",
    )

    def __init__(
        self, binding: Binding, phone: str, version: int | None, utc_offset: timedelta
    ) -> None:
        self.binding = binding
        self.version = version
        self.utc_offset = utc_offset
        self.layout = _REPORT_2013 if version is None else _REPORT_2019
        self.head = 12 if version is None else 17
        self.phone = bytes.fromhex(phone_digits(phone, version))
        self.flags = 0 if version is None else VERSION_FLAG
        # the 0x8001's header up to its serial: the same for every answer on this connection
        header = serialize(Message(b.PLATFORM_RESPONSE, phone, 0, bytes(5), version))[:-7]
        self.prefix_check = reduce(xor, header, 0)
        # a number with an escaped byte (not BCD digits) is answered by the general encoder
        self.prefix = None if _NEEDS_ESCAPE & set(header) else b"\x7e" + header

    def read(self, escaped: bytes, platform_serial: int) -> tuple[bytes, Fix] | None:
        """The 0x8001 to write and the fix, or None for the general path. `escaped` is what
        came between two flags."""
        if escaped[:2] != LOCATION_ID or 0x7D in escaped:
            return None
        size = len(escaped)
        if size < self.head + 29:
            return None
        fields = self.layout.unpack_from(escaped)
        props = fields[1]
        if props & _FIXED_FLAGS != self.flags or props & LENGTH_MASK != size - self.head - 1:
            return None
        if fields[-10] != self.phone or (self.version is not None and fields[2] != self.version):
            return None
        if check_code(escaped):  # with the check code itself the XOR is 0 when it is right
            return None  # the general path counts a bad check code
        serial, _alarm, status, lat, lon, _alt, speed, direction, bcd = fields[-9:]
        if not status & b.STATUS_POSITIONED:
            return None
        try:
            ts = _epoch(bcd, self.utc_offset)
            fix = make_fix(
                self.binding.unit_id,
                ts,
                -lat / 1_000_000 if status & b.STATUS_SOUTH else lat / 1_000_000,
                -lon / 1_000_000 if status & b.STATUS_WEST else lon / 1_000_000,
                datum=self.binding.datum,
                speed_kmh=speed / 10,
                heading_deg=direction if direction < 360 else None,
            )
        except (ValueError, FixRefused):
            return None
        return self.answer(platform_serial, serial), fix

    def answer(self, platform_serial: int, serial: int) -> bytes:
        """0x8001 OK to the report with `serial`."""
        tail = _TAIL.pack(platform_serial, serial, b.LOCATION, b.OK)
        mixed = platform_serial ^ serial
        check = self.prefix_check ^ (mixed >> 8) ^ (mixed & 0xFF) ^ (b.LOCATION >> 8)
        if self.prefix is None or check in _NEEDS_ESCAPE or 0x7D in tail or 0x7E in tail:
            return wrap(
                serialize(
                    Message(
                        b.PLATFORM_RESPONSE,
                        self.phone.hex(),
                        platform_serial,
                        b.general_response(serial, b.LOCATION, b.OK),
                        self.version,
                    )
                )
            )
        return self.prefix + tail + _ENDINGS[check]
