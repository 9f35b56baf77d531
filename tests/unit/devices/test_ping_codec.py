"""What the gateway puts on `patrol.pings` is the GpsPing contract, and tracking reads it."""

from kj_devices.adapters.ping_codec import encode_ping
from kj_devices.domain.fixes import Fix
from kj_schemas.tracking import GpsPing
from kj_tracking.adapters.ping_codec import decode_wire


def test_a_fix_encodes_as_the_contract_and_tracking_reads_it_back():
    fix = Fix("SY-P01-C1", 1_800_000_000.0, 27.2389, 111.4677, 36.5, 270.0, 8.0)
    raw = encode_ping(fix)
    ping = GpsPing.model_validate_json(raw)
    assert (ping.unit_id, ping.lat, ping.lon, ping.speed_kmh) == (
        "SY-P01-C1",
        27.2389,
        111.4677,
        36.5,
    )
    assert ping.ts.timestamp() == fix.ts
    wire = decode_wire(raw)
    assert (wire.heading_deg, wire.accuracy_m) == (270.0, 8.0)


def test_optional_fields_are_left_out_not_null():
    raw = encode_ping(Fix("SY-P01-C1", 1_800_000_000.0, 27.2, 111.4))
    assert b"speed_kmh" not in raw and b"null" not in raw
    decode_wire(raw)
