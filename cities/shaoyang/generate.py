"""Generate the sample Shaoyang (邵阳) city: city.yaml, zones.geojson, checkpoints.geojson.

Run from the repo root: ``uv run python cities/shaoyang/generate.py``. The output is seeded and
reproducible. Positions are plausible, not surveyed: they follow the real city's layout (资江
running west to east through the centre, 北塔 to the north-west, 大祥 to the south, 双清 to the
east) but no point is claimed to be a real address. After generation the files are meant to be
edited by hand; re-running this script overwrites them.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

from shapely.geometry import Point, Polygon, mapping

OUT = Path(__file__).resolve().parent
SEED = 20170610  # any fixed number will do; changing it moves zone edges and checkpoints
CENTRE = (27.240, 111.470)  # lat, lon of the city centre
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(CENTRE[0]))

TARGETS = {"key_location": 60, "central_city": 180, "other_city": 300, "county": 600}

# name, district, lat, lon. The first 21 lie in the central city, the rest in outer city areas.
PLATFORMS = [
    ("北塔1号平台", "北塔区", 27.2505, 111.4560),
    ("北塔2号平台", "北塔区", 27.2550, 111.4660),
    ("西湖桥平台", "大祥区", 27.2385, 111.4480),
    ("城南公园平台", "大祥区", 27.2290, 111.4665),
    ("火车站平台", "双清区", 27.2440, 111.4915),
    ("人民广场平台", "大祥区", 27.2412, 111.4688),
    ("宝庆路平台", "大祥区", 27.2335, 111.4615),
    ("红旗路平台", "双清区", 27.2378, 111.4800),
    ("东大路平台", "双清区", 27.2452, 111.4790),
    ("敏州路平台", "大祥区", 27.2355, 111.4722),
    ("邵水桥平台", "双清区", 27.2418, 111.4752),
    ("双清公园平台", "双清区", 27.2488, 111.4850),
    ("学院路平台", "双清区", 27.2320, 111.4880),
    ("五一路平台", "大祥区", 27.2392, 111.4598),
    ("建设路平台", "大祥区", 27.2268, 111.4560),
    ("西湖路平台", "大祥区", 27.2338, 111.4505),
    ("资江一桥平台", "北塔区", 27.2462, 111.4632),
    ("北塔公园平台", "北塔区", 27.2528, 111.4500),
    ("汽车南站平台", "大祥区", 27.2240, 111.4772),
    ("中心医院平台", "双清区", 27.2365, 111.4842),
    ("兴隆路平台", "双清区", 27.2530, 111.4770),
    ("市政府平台", "大祥区", 27.2150, 111.4640),
    ("江北平台", "北塔区", 27.2700, 111.4500),
    ("状元洲平台", "北塔区", 27.2610, 111.4380),
    ("陈家桥平台", "北塔区", 27.2545, 111.4240),
    ("田江平台", "北塔区", 27.2760, 111.4700),
    ("桃花新城平台", "双清区", 27.2620, 111.5040),
    ("龙须塘平台", "双清区", 27.2490, 111.5150),
    ("高崇山平台", "双清区", 27.2300, 111.5120),
    ("檀江平台", "大祥区", 27.2060, 111.4820),
    ("城西平台", "大祥区", 27.2260, 111.4300),
    ("板桥平台", "大祥区", 27.2010, 111.4500),
    ("渡头桥平台", "双清区", 27.2150, 111.5020),
]

# Key locations (重点部位): name, lat, lon, radius in metres.
KEY_LOCATIONS = [
    ("邵阳站", 27.2428, 111.4950, 350),
    ("西湖桥", 27.2402, 111.4468, 250),
    ("城南公园", 27.2275, 111.4690, 300),
    ("市中心医院", 27.2372, 111.4822, 200),
    ("步行街", 27.2430, 111.4712, 250),
    ("汽车南站", 27.2228, 111.4792, 200),
    ("市政府广场", 27.2162, 111.4660, 300),
    ("市二中", 27.2470, 111.4650, 180),
    ("市一中", 27.2350, 111.4650, 180),
    ("邵阳学院", 27.2290, 111.4930, 400),
    ("双清公园", 27.2500, 111.4870, 220),
    ("北塔", 27.2560, 111.4540, 150),
    ("人民广场", 27.2405, 111.4680, 200),
]

CHECKPOINT_PLACES = ["路口", "小区门口", "学校门口", "银行网点", "农贸市场", "商场入口", "公交站"]
CALLSIGNS = {
    "CMD": "指挥",
    "C1": "处警1",
    "C2": "处警2",
    **{f"M{i}": f"摩托{i}" for i in range(1, 5)},
}
KINDS = {"CMD": "command_vehicle", "C1": "car", "C2": "car"} | {
    f"M{i}": "motorcycle" for i in range(1, 5)
}


def to_xy(lat: float, lon: float) -> tuple[float, float]:
    """Local metres east/north of the centre (equirectangular; fine over a city)."""
    return (lon - CENTRE[1]) * M_PER_DEG_LON, (lat - CENTRE[0]) * M_PER_DEG_LAT


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    return round(CENTRE[1] + x / M_PER_DEG_LON, 6), round(CENTRE[0] + y / M_PER_DEG_LAT, 6)


def blob(rng: random.Random, a: float, b: float, n: int = 20, wobble: float = 0.08) -> Polygon:
    """An irregular, star-shaped (hence valid) ring of semi-axes a (east) and b (north) metres."""
    ring = []
    for k in range(n):
        t = 2 * math.pi * k / n
        r = 1 + rng.uniform(-wobble, wobble)
        ring.append(to_lonlat(a * r * math.cos(t), b * r * math.sin(t)))
    return Polygon(ring)


def circle(lat: float, lon: float, radius_m: float) -> Polygon:
    x, y = to_xy(lat, lon)
    ring = Point(x, y).buffer(radius_m, quad_segs=4).exterior.coords
    return Polygon([to_lonlat(px, py) for px, py in ring])


def feature(geometry: dict, **properties: object) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, features: list[dict]) -> None:
    """Indented GeoJSON with each [lon, lat] pair on one line, so hand edits diff well."""
    text = json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=2
    )
    text = re.sub(r"\[\s+(-?[\d.]+),\s+(-?[\d.]+)\s+\]", r"[\1, \2]", text)
    path.write_text(text + "\n", encoding="utf-8")


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def main() -> None:
    rng = random.Random(SEED)  # noqa: S311 (reproducible sample data, not security)
    central = blob(rng, 2800, 2300)
    other = blob(rng, 6900, 5900, n=28, wobble=0.05)
    zones = [
        feature(mapping(central), id="SY-Z-CENTRAL", name="中心城区", tier="central_city"),
        feature(mapping(other), id="SY-Z-CITY", name="其他城区", tier="other_city"),
    ]
    for i, (name, lat, lon, radius) in enumerate(KEY_LOCATIONS, start=1):
        zones.append(
            feature(
                mapping(circle(lat, lon, radius)),
                id=f"SY-Z-KEY-{i:02d}",
                name=name,
                tier="key_location",
            )
        )

    platforms, units, checkpoints = [], [], []
    for n, (name, district, lat, lon) in enumerate(PLATFORMS, start=1):
        pid = f"SY-P{n:02d}"
        assert other.contains(Point(lon, lat)), f"{pid} {name} lies outside the city zone"
        assert central.contains(Point(lon, lat)) == (n <= 21), f"{pid} {name}: wrong side"
        platforms.append(
            f"  - {{id: {pid}, name: {q(name)}, district: {district}, lat: {lat}, lon: {lon}}}"
        )
        units.append(f"  # {pid} {name}")
        for suffix, kind in KINDS.items():
            callsign = f"邵阳快警{n:02d}-{CALLSIGNS[suffix]}"
            unit = f"id: {pid}-{suffix}, platform: {pid}, kind: {kind}, callsign: {q(callsign)}"
            units.append(f"  - {{{unit}}}")
        places = rng.sample(CHECKPOINT_PLACES, rng.randint(2, 4))
        for k, place in enumerate(places, start=1):
            bearing, dist = rng.uniform(0, 2 * math.pi), rng.uniform(100, 600)
            x, y = to_xy(lat, lon)
            cx, cy = to_lonlat(x + dist * math.sin(bearing), y + dist * math.cos(bearing))
            checkpoints.append(
                feature(
                    {"type": "Point", "coordinates": [cx, cy]},
                    id=f"{pid}-K{k}",
                    name=f"{name.removesuffix('平台')}{place}打卡点",
                    platform=pid,
                    radius_m=rng.choice([30, 40, 50, 60, 80]),
                )
            )

    targets = [f"  {tier}: {seconds}" for tier, seconds in TARGETS.items()]
    city_yaml = "\n".join(
        [
            "# 邵阳快警: city reference data, read by every service (setting KJ_CITY_DIR).",
            "# Generated by generate.py, then maintained by hand. Coordinates are WGS84 degrees.",
            "name: 邵阳市",
            "region: hunan-shaoyang",
            "timezone: Asia/Shanghai",
            "# response targets in seconds: 重点部位 1 min, 中心城区 3 min, 其他城区 5 min;",
            "# county applies outside every zone. Where zones overlap the smallest target wins.",
            "targets:",
            *targets,
            "zones: zones.geojson",
            "checkpoints: checkpoints.geojson",
            "",
            "platforms:",
            *platforms,
            "",
            "# per platform: 1 command vehicle (平台指挥车), 2 cars (处警车), 4 motorcycles",
            "units:",
            *units,
            "",
        ]
    )
    (OUT / "city.yaml").write_text(city_yaml, encoding="utf-8")
    write_geojson(OUT / "zones.geojson", zones)
    write_geojson(OUT / "checkpoints.geojson", checkpoints)
    inside = sum(central.contains(Point(lon, lat)) for _, _, lat, lon in PLATFORMS)
    print(
        f"wrote {OUT}: {len(platforms)} platforms ({inside} in the central city), "
        f"{len(platforms) * len(KINDS)} units, {len(zones)} zones, {len(checkpoints)} checkpoints"
    )


if __name__ == "__main__":
    main()
