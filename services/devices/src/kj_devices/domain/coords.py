"""Chinese map datums to WGS84, at the gateway's edge. Map SDKs sold in China (AMap, Tencent)
and many phones report GCJ-02, an obfuscated offset of WGS84 (tens to hundreds of metres);
Baidu's SDK reports BD-09, a further offset of GCJ-02. Everything inside the platform is WGS84.

The forward transforms (WGS84 → GCJ-02 → BD-09) are the published formulas every open
implementation uses (e.g. googollee/eviltransform); the inverses have no closed form, so they are
solved by fixed-point iteration on the forward transform until the step is below 1e-10° (about
0.01 mm). Round trip WGS84 → GCJ-02 → WGS84 and WGS84 → BD-09 → WGS84: below 1e-8° (about
1 mm) everywhere in China, held by a property test. Outside China GCJ-02 is WGS84 itself."""

import math
from collections.abc import Callable
from enum import StrEnum

_A = 6378245.0  # Krasovsky 1940, the ellipsoid GCJ-02's offsets are computed on
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


class Datum(StrEnum):
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


def out_of_china(lat: float, lon: float) -> bool:
    return not (0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347)


def _dlat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _dlon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if out_of_china(lat, lon):
        return lat, lon
    dlat = _dlat(lon - 105.0, lat - 35.0)
    dlon = _dlon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _solve(
    forward: Callable[[float, float], tuple[float, float]], lat: float, lon: float
) -> tuple[float, float]:
    """The point p with forward(p) == (lat, lon), by fixed-point iteration (the offsets vary
    slowly, so each step gains about three digits)."""
    guess_lat, guess_lon = lat, lon
    for _ in range(30):
        f_lat, f_lon = forward(guess_lat, guess_lon)
        d_lat, d_lon = f_lat - lat, f_lon - lon
        guess_lat, guess_lon = guess_lat - d_lat, guess_lon - d_lon
        if abs(d_lat) < 1e-10 and abs(d_lon) < 1e-10:
            break
    return guess_lat, guess_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    if out_of_china(lat, lon):
        return lat, lon
    return _solve(wgs84_to_gcj02, lat, lon)


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    return _solve(gcj02_to_bd09, lat, lon)


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def to_wgs84(datum: Datum, lat: float, lon: float) -> tuple[float, float]:
    """A fix as the device declared it → WGS84."""
    if datum is Datum.wgs84:
        return lat, lon
    if datum is Datum.gcj02:
        return gcj02_to_wgs84(lat, lon)
    return bd09_to_wgs84(lat, lon)
