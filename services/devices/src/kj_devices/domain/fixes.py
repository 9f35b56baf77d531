"""A position as the platform takes it in, whatever the device spoke: WGS84, UTC epoch seconds,
ranges the `GpsPing` contract accepts. Bad values are dropped field by field where the fix is
still worth having (a speed of 6,000 km/h is a broken sensor, not a broken position)."""

import math
from typing import NamedTuple

from kj_devices.domain.coords import Datum, to_wgs84
from kj_schemas.base import EARLIEST, LATEST

# the times a ping may carry (`GpsPing.ts`): a fix outside them is no time, and one past the
# year 9999 could not even be encoded (the ping sink's loop would die on it)
FIRST_TS = EARLIEST.timestamp()
LAST_TS = LATEST.timestamp()


class Fix(NamedTuple):
    """Immutable; a tuple because one is made for every report (10,000 a second at a gateway)
    and a frozen dataclass takes four times as long to build."""

    unit_id: str
    ts: float  # UTC epoch seconds, by the device's clock
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None


class FixRefused(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def make_fix(
    unit_id: str,
    ts: float,
    lat: float,
    lon: float,
    *,
    datum: Datum = Datum.wgs84,
    speed_kmh: float | None = None,
    heading_deg: float | None = None,
    accuracy_m: float | None = None,
) -> Fix:
    """Raises FixRefused when there is no position worth passing on."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # NaN fails every comparison too
        raise FixRefused("bad_position", f"({lat}, {lon}) is no position on Earth")
    if lat == 0 and lon == 0:
        raise FixRefused("bad_position", "(0, 0): a receiver without a fix")
    if not FIRST_TS < ts < LAST_TS:  # NaN fails it too
        raise FixRefused("bad_time", f"{ts} is no time between 1970 and 2200")
    if datum is not Datum.wgs84:
        converted = to_wgs84(datum, lat, lon)
        lat, lon = round(converted[0], 7), round(converted[1], 7)
    return Fix(
        unit_id,
        ts,
        lat,
        lon,
        speed_kmh if speed_kmh is not None and 0 <= speed_kmh <= 400 else None,
        heading_deg % 360 if heading_deg is not None and 0 <= heading_deg < math.inf else None,
        accuracy_m if accuracy_m is not None and 0 <= accuracy_m <= 100_000 else None,
    )
