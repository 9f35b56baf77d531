"""City reference data: the sample city loads, and broken cities are rejected readably."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from shapely.geometry import Point

from kj_schemas.city import City, CityDataError, load_city
from kj_schemas.enums import ResponseTier, UnitKind

SAMPLE = Path(__file__).resolve().parents[2] / "cities" / "shaoyang"


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(SAMPLE)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of the sample city, for a test to break."""
    target = tmp_path / "city"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def edit_yaml(directory: Path, change: Any) -> None:
    path = directory / "city.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    change(doc)
    text = yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")


def edit_geojson(directory: Path, name: str, change: Any) -> None:
    path = directory / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc["features"])
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(CityDataError) as info:
        load_city(directory)
    assert issubclass(CityDataError, ValueError)
    assert str(info.value).count("\n  - ") == len(info.value.problems)
    return info.value.problems


def feature_by_id(features: list[dict[str, Any]], fid: str) -> dict[str, Any]:
    return next(f for f in features if f["properties"]["id"] == fid)


def unit_by_id(doc: dict[str, Any], uid: str) -> dict[str, Any]:
    return next(u for u in doc["units"] if u["id"] == uid)


BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[111.47, 27.24], [111.48, 27.25], [111.48, 27.24], [111.47, 27.25], [111.47, 27.24]]
    ],
}


# --- the sample city -------------------------------------------------------------------------


def test_sample_city_header(city: City) -> None:
    assert city.name == "邵阳市"
    assert city.region == "hunan-shaoyang"
    assert city.timezone == "Asia/Shanghai"
    assert city.targets == {
        ResponseTier.key_location: 60,
        ResponseTier.central_city: 180,
        ResponseTier.other_city: 300,
        ResponseTier.county: 600,
    }


def test_sample_city_has_33_platforms_with_7_units_each(city: City) -> None:
    assert len(city.platforms) == 33
    assert len(city.units) == 231
    assert len(city.unit_by_id) == 231
    assert set(city.units_by_platform) == set(city.platform_by_id)
    for platform_id, units in city.units_by_platform.items():
        kinds = Counter(u.kind for u in units)
        assert kinds == {UnitKind.command_vehicle: 1, UnitKind.car: 2, UnitKind.motorcycle: 4}, (
            platform_id
        )
    assert all(u.platform in city.platform_by_id for u in city.units)
    assert city.unit_by_id["SY-P01-CMD"].kind is UnitKind.command_vehicle
    assert len({u.callsign for u in city.units}) == 231


def test_sample_city_zones_are_valid_and_cover_the_platforms(city: City) -> None:
    tiers = Counter(z.tier for z in city.zones)
    assert tiers[ResponseTier.central_city] == 1
    assert tiers[ResponseTier.other_city] == 1
    assert 10 <= tiers[ResponseTier.key_location] <= 15
    assert all(z.geometry.is_valid and not z.geometry.is_empty for z in city.zones)
    assert all(z.tier in city.targets for z in city.zones)
    other = next(z for z in city.zones if z.tier is ResponseTier.other_city).geometry
    central = next(z for z in city.zones if z.tier is ResponseTier.central_city).geometry
    assert other.contains(central)
    for p in city.platforms:
        assert other.contains(Point(p.lon, p.lat)), p.id
    in_central = sum(central.contains(Point(p.lon, p.lat)) for p in city.platforms)
    assert in_central > len(city.platforms) / 2  # most platforms serve the central city


def test_sample_city_checkpoints_are_near_their_platform(city: City) -> None:
    per_platform = Counter(c.platform for c in city.checkpoints)
    assert set(per_platform) == set(city.platform_by_id)
    assert all(2 <= n <= 4 for n in per_platform.values())
    assert len(city.checkpoint_by_id) == len(city.checkpoints)
    for c in city.checkpoints:
        base = city.platform_by_id[c.platform]
        assert 30 <= c.radius_m <= 80
        assert abs(c.lat - base.lat) < 0.01 and abs(c.lon - base.lon) < 0.01, c.id


def test_sample_files_are_small() -> None:
    for name in ("city.yaml", "zones.geojson", "checkpoints.geojson"):
        assert (SAMPLE / name).stat().st_size < 200_000, name


# --- broken cities ---------------------------------------------------------------------------


def test_unit_naming_a_missing_platform(broken: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        unit_by_id(doc, "SY-P01-C1").update(id="SY-P99-C1", platform="SY-P99")

    edit_yaml(broken, change)
    assert problems_of(broken) == [
        "city.yaml: unit SY-P99-C1 names platform SY-P99, which does not exist"
    ]


def test_zone_that_is_not_a_valid_polygon(broken: Path) -> None:
    edit_geojson(
        broken,
        "zones.geojson",
        lambda fs: feature_by_id(fs, "SY-Z-KEY-03").update(geometry=BOW_TIE),
    )
    [problem] = problems_of(broken)
    assert problem.startswith("zones.geojson: zone SY-Z-KEY-03 is not a valid polygon (Self-inter")
    assert "111.475 27.245" in problem


def test_zone_whose_tier_has_no_target(broken: Path) -> None:
    edit_yaml(broken, lambda doc: doc["targets"].pop("central_city"))
    assert problems_of(broken) == [
        "zones.geojson: zone SY-Z-CENTRAL has tier central_city, which has no target in city.yaml"
    ]


def test_duplicate_unit_id(broken: Path) -> None:
    edit_yaml(broken, lambda doc: unit_by_id(doc, "SY-P02-C2").update(id="SY-P02-C1"))
    assert problems_of(broken) == ["city.yaml: duplicate unit id SY-P02-C1 (used 2 times)"]


def test_malformed_yaml(broken: Path) -> None:
    path = broken / "city.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("{id: SY-P05, ", "{id: SY-P05 "), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"火车站平台",', '"火车站平台"'), encoding="utf-8")
    [problem] = problems_of(broken)
    assert problem.startswith("city.yaml: malformed YAML at line ")


def test_duplicate_yaml_key_is_not_silently_ignored(broken: Path) -> None:
    path = broken / "city.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("region: hunan-shaoyang\n", "region: a\nregion: b\n"), "utf-8")
    [problem] = problems_of(broken)
    assert problem.startswith("city.yaml: malformed YAML at line ")
    assert "duplicate key 'region'" in problem


def test_all_problems_are_reported_at_once(broken: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        unit_by_id(doc, "SY-P01-C1").update(id="SY-P99-C1", platform="SY-P99")
        unit_by_id(doc, "SY-P02-C2").update(id="SY-P02-C1")
        doc["targets"]["key_location"] = 0

    edit_yaml(broken, change)
    edit_geojson(
        broken,
        "zones.geojson",
        lambda fs: feature_by_id(fs, "SY-Z-KEY-03").update(geometry=BOW_TIE),
    )
    problems = problems_of(broken)
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert "unit SY-P99-C1 names platform SY-P99, which does not exist" in text
    assert "duplicate unit id SY-P02-C1" in text
    assert "city.yaml: targets.key_location: Input should be greater than 0 (got 0)" in text
    assert "zone SY-Z-KEY-03 is not a valid polygon" in text


def test_pydantic_errors_become_readable_lines(broken: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["platforms"][2].update(lat=127.24, colour="red")  # SY-P03
        del unit_by_id(doc, "SY-P04-M1")["kind"]
        unit_by_id(doc, "SY-P04-M2")["kind"] = "bicycle"

    edit_yaml(broken, change)
    problems = problems_of(broken)
    assert (
        "city.yaml: platform SY-P03: lat: Input should be less than or equal to 90 (got 127.24)"
        in problems
    )
    assert "city.yaml: platform SY-P03: colour: unknown key" in problems
    assert "city.yaml: unit SY-P04-M1: kind: missing" in problems
    assert any(p.startswith("city.yaml: unit SY-P04-M2: kind: Input should be") for p in problems)
    # an invalid platform does not make its units and checkpoints "name a missing platform"
    assert len(problems) == 4, problems


def test_checkpoint_problems(broken: Path) -> None:
    def change(features: list[dict[str, Any]]) -> None:
        feature_by_id(features, "SY-P01-K1")["properties"]["platform"] = "SY-P77"
        feature_by_id(features, "SY-P02-K1")["properties"]["radius_m"] = 0
        feature_by_id(features, "SY-P03-K1")["geometry"] = {"type": "LineString", "coordinates": []}
        features.append(json.loads(json.dumps(feature_by_id(features, "SY-P04-K1"))))

    edit_geojson(broken, "checkpoints.geojson", change)
    assert problems_of(broken) == [
        "checkpoints.geojson: checkpoint SY-P02-K1: radius_m: Input should be greater than 0"
        " (got 0)",
        "checkpoints.geojson: checkpoint SY-P03-K1: geometry must be a Point",
        "checkpoints.geojson: duplicate checkpoint id SY-P04-K1 (used 2 times)",
        "checkpoints.geojson: checkpoint SY-P01-K1 names platform SY-P77, which does not exist",
    ]


def test_platform_with_no_units_and_missing_county_target(broken: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["units"] = [u for u in doc["units"] if u["platform"] != "SY-P07"]
        del doc["targets"]["county"]

    edit_yaml(broken, change)
    assert problems_of(broken) == [
        "city.yaml: targets has no county target (it applies outside all zones)",
        "city.yaml: platform SY-P07 has no units",
    ]


def test_missing_and_malformed_geojson_files(broken: Path) -> None:
    (broken / "zones.geojson").unlink()
    (broken / "checkpoints.geojson").write_text('{"type": "FeatureCollection", "features": [')
    problems = problems_of(broken)
    assert problems[0] == f"zones.geojson: file not found in {broken}"
    assert problems[1].startswith("checkpoints.geojson: malformed JSON at line 1, column ")
    assert len(problems) == 2


def test_missing_city_yaml(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [f"city.yaml: file not found in {tmp_path}"]


def test_a_second_city_is_just_another_folder(broken: Path) -> None:
    edit_yaml(broken, lambda doc: doc.update(name="邵阳市(副本)", region="hunan-shaoyang-copy"))
    copy = load_city(broken)
    assert copy.region == "hunan-shaoyang-copy"
    assert len(copy.units) == 231
