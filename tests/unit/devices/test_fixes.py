"""A fix the gateway keeps is one the ping sink can encode and the GpsPing contract takes: a
time past the year 9999 (a phone's `timestamp=1e308`) used to pass and kill the sink's loop."""

import math

import pytest

from kj_devices.adapters.ping_codec import encode_ping
from kj_devices.domain.fixes import FixRefused, make_fix
from kj_schemas.tracking import GpsPing


@pytest.mark.parametrize("ts", [1e305, 253_402_300_800.0, 7_258_118_400.0, 0.0, -1.0, math.nan])
def test_a_time_the_contract_cannot_hold_is_refused(ts: float) -> None:
    with pytest.raises(FixRefused) as refused:
        make_fix("SY-P01-C1", ts, 27.2, 111.4)
    assert refused.value.reason == "bad_time"


@pytest.mark.parametrize("ts", [1.0, 1_800_000_000.0, 7_258_118_399.0])
def test_a_time_it_keeps_encodes_as_a_ping(ts: float) -> None:
    ping = GpsPing.model_validate_json(encode_ping(make_fix("SY-P01-C1", ts, 27.2, 111.4)))
    assert ping.ts.timestamp() == ts
