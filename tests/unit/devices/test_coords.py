"""GCJ-02 and BD-09 to WGS84. Reference values: googollee/eviltransform's test table (the
Python tests; wgsLat, wgsLng, gcjLat, gcjLng for Shanghai, Shenzhen and Beijing)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kj_devices.domain.coords import (
    Datum,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)

EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_the_published_values(wlat, wlon, glat, glon):
    lat, lon = wgs84_to_gcj02(wlat, wlon)
    assert lat == pytest.approx(glat, abs=1e-9) and lon == pytest.approx(glon, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_gcj02_back_to_wgs84_within_a_millimetre(wlat, wlon, glat, glon):
    lat, lon = gcj02_to_wgs84(glat, glon)
    assert abs(lat - wlat) < 1e-8 and abs(lon - wlon) < 1e-8


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dlat = (a[0] - b[0]) * 111_320
    dlon = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dlat, dlon)


china = st.tuples(st.floats(18.0, 53.0), st.floats(74.0, 134.0))


@given(china)
def test_round_trips_are_below_a_millimetre_everywhere_in_china(point):
    gcj = wgs84_to_gcj02(*point)
    assert metres(gcj02_to_wgs84(*gcj), point) < 0.001
    assert metres(bd09_to_wgs84(*gcj02_to_bd09(*gcj)), point) < 0.001


def test_the_offsets_are_the_size_a_map_shows_in_shaoyang():
    shaoyang = (27.2389, 111.4677)
    gcj = wgs84_to_gcj02(*shaoyang)
    assert 100 < metres(gcj, shaoyang) < 800  # GCJ-02 moves a point hundreds of metres
    assert metres(gcj02_to_bd09(*gcj), gcj) > 500  # BD-09 moves it again, about 1 km


def test_outside_china_gcj02_is_wgs84():
    assert wgs84_to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)
    assert to_wgs84(Datum.gcj02, 48.8566, 2.3522) == (48.8566, 2.3522)
