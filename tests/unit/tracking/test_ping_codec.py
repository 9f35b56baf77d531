"""The msgspec decoder on the hot path accepts and refuses what the pydantic contract does."""

import json
import uuid
from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from kj_schemas.examples import EXAMPLES
from kj_schemas.tracking import GpsPing, UnitState
from kj_tracking.adapters.ping_codec import decode_wire, encode_fix, to_fix
from kj_tracking.adapters.state_codec import encode_state
from kj_tracking.domain.units import Fix, UnitTrack

PING = next(e for e in EXAMPLES if e.model is GpsPing)
GOOD = PING.valid

EDGE_CASES: list[dict[str, Any]] = [
    PING.valid,
    PING.invalid,
    {**GOOD, "ts": "2026-11-23T10:02:30"},  # naive timestamp
    {**GOOD, "ts": "2026-11-23T10:02:30Z"},
    {**GOOD, "lat": 90.0, "lon": -180.0},
    {**GOOD, "lat": 90.0001},
    {**GOOD, "lon": 180.5},
    {**GOOD, "lat": "27.2"},  # a string is not a latitude
    {**GOOD, "lat": True},
    {**GOOD, "lat": 27},  # an integer is a number
    {**GOOD, "speed_kmh": -1.0},
    {**GOOD, "speed_kmh": 400.0},
    {**GOOD, "speed_kmh": 401.0},
    {**GOOD, "heading_deg": 360.0},
    {**GOOD, "heading_deg": 0.0},
    {**GOOD, "accuracy_m": 100_001.0},
    {**GOOD, "speed_kmh": None, "heading_deg": None, "accuracy_m": None},
    {**GOOD, "schema_version": 1},
    {**GOOD, "schema_version": 2},
    {**GOOD, "extra": 1},  # unknown fields are an error
    {**GOOD, "unit_id": "bad id!"},
    {**GOOD, "unit_id": ""},
    {k: v for k, v in GOOD.items() if k != "ts"},
    {k: v for k, v in GOOD.items() if k != "unit_id"},
]


def pydantic_accepts(raw: bytes) -> bool:
    try:
        GpsPing.model_validate_json(raw)
        return True
    except ValidationError:
        return False


def msgspec_accepts(raw: bytes) -> bool:
    try:
        decode_wire(raw)
        return True
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False


@pytest.mark.parametrize("body", EDGE_CASES, ids=lambda b: json.dumps(b)[:60])
def test_msgspec_and_the_contract_agree(body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    assert msgspec_accepts(raw) == pydantic_accepts(raw)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"null", b'{"lat": NaN}'])
def test_garbage_is_refused_by_both(raw: bytes) -> None:
    assert not msgspec_accepts(raw)
    assert not pydantic_accepts(raw)


def test_the_decoder_is_stricter_on_padded_ids_and_numeric_timestamps() -> None:
    # documented differences: pydantic strips spaces and reads numbers as epoch seconds
    for body in ({**GOOD, "unit_id": " SY-P01-M1 "}, {**GOOD, "ts": 1_795_000_000}):
        raw = json.dumps(body).encode()
        assert pydantic_accepts(raw) and not msgspec_accepts(raw)


def test_a_fix_round_trips_through_the_wire_format() -> None:
    fix = Fix("SY-P01-M1", 1_795_000_000.25, 27.2391, 111.468, 32.5, 270.0, 6.0)
    raw = encode_fix(fix)
    assert to_fix(decode_wire(raw)) == fix
    assert GpsPing.model_validate_json(raw).unit_id == "SY-P01-M1"


def test_published_unit_state_is_a_valid_contract() -> None:
    unit = UnitTrack("SY-P01-M1", "SY-P01", "motorcycle")
    unit.move_to(Fix("SY-P01-M1", 1_795_000_000.0, 27.2391, 111.468, 32.5, 270.0), 1_795_000_001)
    unit.work_order_id = str(uuid.uuid4())
    state = UnitState.model_validate_json(encode_state(unit))
    assert (state.status, state.lat, str(state.work_order_id)) == (
        "available",
        27.2391,
        unit.work_order_id,
    )
