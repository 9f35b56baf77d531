"""BCD[6] times (YYMMDDhhmmss, one decimal digit per nibble) in the terminal's time zone: the
standard says GMT+8, and some terminals are set to UTC; the gateway is told which."""

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache


@lru_cache(maxsize=4096)  # thousands of terminals report the same second: decoded once
def decode_time(raw: bytes, utc_offset: timedelta) -> datetime:
    """Raises ValueError for nibbles that are not digits or a date that does not exist."""
    digits = raw.hex()
    if len(raw) != 6 or not digits.isdigit():
        raise ValueError(f"BCD time {digits!r} is not 12 decimal digits")
    local = datetime(
        2000 + int(digits[0:2]),
        int(digits[2:4]),
        int(digits[4:6]),
        int(digits[6:8]),
        int(digits[8:10]),
        int(digits[10:12]),
        tzinfo=timezone(utc_offset),
    )
    return local.astimezone(UTC)


def encode_time(at: datetime, utc_offset: timedelta) -> bytes:
    local = at.astimezone(timezone(utc_offset))
    if not 2000 <= local.year <= 2099:
        raise ValueError(f"{local.year} does not fit a two-digit BCD year")
    return bytes.fromhex(local.strftime("%y%m%d%H%M%S"))
