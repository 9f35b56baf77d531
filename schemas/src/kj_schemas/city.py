"""City reference data: platforms, units, response zones and checkpoints, loaded from a folder.

A city folder holds ``city.yaml`` (name, region, timezone, tier targets, platforms, units and the
names of the two GeoJSON files) plus a zones and a checkpoints GeoJSON FeatureCollection.
``load_city(directory)`` validates all of it and raises ``CityDataError`` listing every problem.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cached_property, partial
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

from kj_schemas.enums import ResponseTier, UnitKind

ID_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{0,63}$"
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Platform(_Model):
    """A 快警平台: a base with its vehicles."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-P\d{2,3}$")  # e.g. SY-P01
    name: str = Field(min_length=1)
    lat: Latitude
    lon: Longitude
    district: str = Field(min_length=1)


class Unit(_Model):
    """A vehicle of a platform: command vehicle, response car or motorcycle."""

    id: str = Field(pattern=ID_PATTERN)  # e.g. SY-P01-C1
    platform: str
    kind: UnitKind
    callsign: str = Field(min_length=1)


class ZoneProperties(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    tier: ResponseTier


class Zone(ZoneProperties):
    """An area where one response target applies. Zones may overlap: the smallest target wins."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    geometry: Polygon | MultiPolygon  # lon/lat (x/y), WGS84


class Checkpoint(_Model):
    """A patrol check-in point (打卡点) of a platform."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    platform: str
    lat: Latitude
    lon: Longitude
    radius_m: float = Field(gt=0)


class _CityHeader(_Model):
    name: str = Field(min_length=1)
    region: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")  # dispatch region, e.g. hunan-shaoyang
    timezone: str  # IANA name, e.g. Asia/Shanghai
    targets: dict[ResponseTier, PositiveInt]  # seconds from alarm to police on scene

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("not a known IANA timezone name, e.g. Asia/Shanghai") from exc
        return value


class _CityFile(_CityHeader):
    """city.yaml as written: items are validated one by one so each error can name its item."""

    zones: str  # file name, relative to the city folder
    checkpoints: str
    platforms: list[Any]
    units: list[Any]


class City(_CityHeader):
    """A validated city. Build it with ``load_city``; lookups by id are the ``*_by_id`` dicts."""

    platforms: list[Platform]
    units: list[Unit]
    zones: list[Zone]
    checkpoints: list[Checkpoint]

    @cached_property
    def platform_by_id(self) -> dict[str, Platform]:
        return {p.id: p for p in self.platforms}

    @cached_property
    def unit_by_id(self) -> dict[str, Unit]:
        return {u.id: u for u in self.units}

    @cached_property
    def zone_by_id(self) -> dict[str, Zone]:
        return {z.id: z for z in self.zones}

    @cached_property
    def checkpoint_by_id(self) -> dict[str, Checkpoint]:
        return {c.id: c for c in self.checkpoints}

    @cached_property
    def units_by_platform(self) -> dict[str, list[Unit]]:
        grouped: dict[str, list[Unit]] = {p.id: [] for p in self.platforms}
        for unit in self.units:
            grouped[unit.platform].append(unit)
        return grouped


class CityDataError(ValueError):
    """The city folder is unusable. ``problems`` holds one readable line per problem."""

    def __init__(self, directory: Path, problems: list[str]) -> None:
        self.directory = directory
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"city data in {directory} has {len(problems)} problem(s):\n{lines}")


class _YamlLoader(yaml.CSafeLoader):
    """(C)SafeLoader that rejects duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key in (k for k, _ in node.value if isinstance(k, yaml.ScalarNode)):
            if key.value in seen:
                problem = f"duplicate key {key.value!r}"
                raise yaml.MarkedYAMLError(problem=problem, problem_mark=key.start_mark)
            seen.add(key.value)
        return super().construct_mapping(node, deep=deep)


def _describe(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]).replace(".[key]", " (key)") or "item"
        if e["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        elif e["type"] == "missing":
            lines.append(f"{where}: missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {msg} (got {e['input']!r})")
    return lines


def _validate(model: type[_Model], raw: Any, where: str, problems: list[str]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        problems.extend(f"{where}: {line}" for line in _describe(err))
        return None


def _read(path: Path, problems: list[str]) -> Any:
    """Parse a YAML or JSON file; on failure record the problem and return None."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 (a SafeLoader)
        return json.loads(text)
    except FileNotFoundError:
        problems.append(f"{path.name}: file not found in {path.parent}")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot read ({exc})")
    except yaml.MarkedYAMLError as exc:
        at = f" at line {m.line + 1}, column {m.column + 1}" if (m := exc.problem_mark) else ""
        problems.append(f"{path.name}: malformed YAML{at}: {exc.problem or exc.context}")
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: malformed YAML: {exc}")
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno}, column {exc.colno}"
        problems.append(f"{path.name}: malformed JSON at {at}: {exc.msg}")
    return None


def _zone(feature: dict[str, Any], where: str, problems: list[str]) -> Zone | None:
    meta = _validate(ZoneProperties, feature.get("properties"), where, problems)
    geo = feature.get("geometry")
    if not isinstance(geo, dict) or geo.get("type") not in ("Polygon", "MultiPolygon"):
        problems.append(f"{where}: geometry must be a Polygon or MultiPolygon")
        return None
    try:
        geom = shape(geo)
    except Exception as exc:  # shapely raises several kinds on bad coordinates
        problems.append(f"{where}: geometry cannot be read ({exc})")
        return None
    if geom.is_empty:
        problems.append(f"{where}: geometry is empty")
    elif not geom.is_valid:
        problems.append(f"{where} is not a valid polygon ({explain_validity(geom)})")
    elif not Polygon([(-180, -90), (180, -90), (180, 90), (-180, 90)]).covers(geom):
        problems.append(f"{where}: coordinates out of range (GeoJSON order is [lon, lat])")
    elif meta is not None:
        return Zone(**dict(meta), geometry=geom)
    return None


def _checkpoint(feature: dict[str, Any], where: str, problems: list[str]) -> Checkpoint | None:
    geo, props = feature.get("geometry"), feature.get("properties")
    coords = geo.get("coordinates") if isinstance(geo, dict) else None
    if not isinstance(geo, dict) or geo.get("type") != "Point" or not isinstance(coords, list):
        problems.append(f"{where}: geometry must be a Point")
    elif len(coords) not in (2, 3):
        problems.append(f"{where}: a Point needs [lon, lat] coordinates (got {coords!r})")
    elif not isinstance(props, dict):
        problems.append(f"{where}: properties must be an object")
    else:
        return _validate(Checkpoint, {**props, "lon": coords[0], "lat": coords[1]}, where, problems)
    return None


def _collect(kind: str, fname: str, raws: Any, build: Any, problems: list[str]) -> list[Any]:
    """Build every item of a list, naming each failure by its id; report duplicate ids."""
    items = []
    for i, raw in enumerate(raws if isinstance(raws, list) else []):
        props = raw.get("properties", raw) if isinstance(raw, dict) else raw
        rid = props.get("id") if isinstance(props, dict) else None
        where = f"{fname}: {kind} {rid if isinstance(rid, str) else f'#{i + 1}'}"
        if kind in ("zone", "checkpoint") and not isinstance(raw, dict):
            problems.append(f"{where}: must be a GeoJSON Feature")
        elif (item := build(raw, where, problems)) is not None:
            items.append(item)
    for dup, n in Counter(item.id for item in items).items():
        if n > 1:
            problems.append(f"{fname}: duplicate {kind} id {dup} (used {n} times)")
    return items


def _features(directory: Path, fname: Any, problems: list[str]) -> list[Any]:
    doc = _read(directory / fname, problems) if isinstance(fname, str) else None
    if doc is None:
        return []  # unreadable, or the name is missing (reported by the city.yaml check)
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        if isinstance(doc.get("features"), list):
            return doc["features"]
    problems.append(f"{fname}: must be a GeoJSON FeatureCollection with a 'features' list")
    return []


def load_city(directory: Path | str) -> City:
    """Load and validate a city folder. Raises ``CityDataError`` listing every problem found."""
    directory = Path(directory)
    problems: list[str] = []
    doc = _read(directory / "city.yaml", problems)
    if not problems and not isinstance(doc, dict):
        problems.append("city.yaml: must be a mapping with name, region, timezone, targets, ...")
    if problems:
        raise CityDataError(directory, problems)
    head: _CityFile | None = _validate(_CityFile, doc, "city.yaml", problems)
    # judge references by what the file declares, so one bad item does not cascade
    tiers = set(doc["targets"]) if isinstance(doc.get("targets"), dict) else set(ResponseTier)
    if ResponseTier.county not in tiers:
        problems.append("city.yaml: targets has no county target (it applies outside all zones)")
    platforms = _collect(
        "platform", "city.yaml", doc.get("platforms"), partial(_validate, Platform), problems
    )
    units = _collect("unit", "city.yaml", doc.get("units"), partial(_validate, Unit), problems)
    raws = doc.get("platforms") if isinstance(doc.get("platforms"), list) else []
    plat_ids = {raw.get("id") for raw in raws if isinstance(raw, dict)}
    for dup, n in Counter(u.callsign for u in units).items():
        if n > 1:
            problems.append(f"city.yaml: callsign {dup} is used by {n} units")
    for p in platforms:
        if not any(u.platform == p.id for u in units):
            problems.append(f"city.yaml: platform {p.id} has no units")

    zname, cname = doc.get("zones"), doc.get("checkpoints")
    zones = _collect("zone", str(zname), _features(directory, zname, problems), _zone, problems)
    checkpoints = _collect(
        "checkpoint", str(cname), _features(directory, cname, problems), _checkpoint, problems
    )
    for fname, items in (("city.yaml", units), (str(cname), checkpoints)):
        for item in items:
            if item.platform not in plat_ids:
                what = f"{type(item).__name__.lower()} {item.id} names platform {item.platform}"
                problems.append(f"{fname}: {what}, which does not exist")
    for zone in zones:
        if zone.tier not in tiers:
            msg = f"zone {zone.id} has tier {zone.tier}, which has no target in city.yaml"
            problems.append(f"{zname}: {msg}")

    if problems or head is None:
        raise CityDataError(directory, problems)
    fields = head.model_dump(include={"name", "region", "timezone", "targets"})
    return City(**fields, platforms=platforms, units=units, zones=zones, checkpoints=checkpoints)
