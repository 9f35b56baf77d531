"""A fix as the `GpsPing` contract's JSON on `patrol.pings` (kj_schemas.tracking.GpsPing; a
test holds the two together), encoded with msgspec on the hot path."""

from datetime import UTC, datetime
from functools import lru_cache

import msgspec

from kj_devices.domain.fixes import Fix

_encoder = msgspec.json.Encoder()


@lru_cache(maxsize=4096)  # thousands of terminals report the same second
def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def encode_ping(fix: Fix) -> bytes:
    body: dict[str, object] = {
        "schema_version": 1,
        "unit_id": fix.unit_id,
        "ts": _when(fix.ts),
        "lat": fix.lat,
        "lon": fix.lon,
    }
    if fix.speed_kmh is not None:
        body["speed_kmh"] = float(fix.speed_kmh)
    if fix.heading_deg is not None:
        body["heading_deg"] = float(fix.heading_deg)
    if fix.accuracy_m is not None:
        body["accuracy_m"] = float(fix.accuracy_m)
    return _encoder.encode(body)
