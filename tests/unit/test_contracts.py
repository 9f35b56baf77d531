"""The message contracts: what every peer may send, and what is refused with a reason."""

import inspect
from typing import Literal

import pytest
from pydantic import BaseModel, ValidationError

import kj_schemas.alarms
import kj_schemas.commands
import kj_schemas.deadletter
import kj_schemas.notify
import kj_schemas.tracking
import kj_schemas.workorders
from kj_schemas import codec, export
from kj_schemas.base import Message
from kj_schemas.examples import EXAMPLES, Example
from kj_schemas.topics import CATALOGUE, by_name
from kj_schemas.tracking import GpsPing

CONTRACT_MODULES = [
    kj_schemas.alarms,
    kj_schemas.commands,
    kj_schemas.deadletter,
    kj_schemas.notify,
    kj_schemas.tracking,
    kj_schemas.workorders,
]


def _ids(example: Example) -> str:
    return example.model.__name__


@pytest.mark.parametrize("example", EXAMPLES, ids=_ids)
def test_valid_example_round_trips_through_bytes(example: Example) -> None:
    parsed = example.model.model_validate(example.valid)
    assert codec.decode(example.model, codec.encode(parsed)) == parsed


@pytest.mark.parametrize("example", EXAMPLES, ids=_ids)
def test_invalid_example_is_refused(example: Example) -> None:
    with pytest.raises(ValidationError):
        codec.decode(example.model, codec.encode_json(example.invalid))


def test_every_public_contract_model_has_examples() -> None:
    public = {
        obj
        for module in CONTRACT_MODULES
        for name, obj in vars(module).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseModel)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
        and (issubclass(obj, Message) or "schema_version" in obj.model_fields)
    }
    assert public == {example.model for example in EXAMPLES}


@pytest.mark.parametrize("example", EXAMPLES, ids=_ids)
def test_every_contract_carries_schema_version(example: Example) -> None:
    assert "schema_version" in example.model.model_fields


def test_gps_ping_without_offset_is_refused_with_field_named() -> None:
    with pytest.raises(ValidationError) as caught:
        GpsPing.model_validate_json(
            b'{"unit_id": "SY-P01-M1", "ts": "2026-11-23T10:00:00", "lat": 27.2, "lon": 111.4}'
        )
    assert caught.value.errors()[0]["loc"] == ("ts",)


def test_gps_ping_refuses_coordinates_as_strings_and_unknown_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        GpsPing.model_validate_json(
            b'{"unit_id": "SY-P01-M1", "ts": "2026-11-23T10:00:00Z", "lat": "27.2", '
            b'"lon": 111.4, "altitude": 3}'
        )
    assert {error["loc"] for error in caught.value.errors()} == {("lat",), ("altitude",)}


def test_terminal_may_omit_schema_version_on_pings() -> None:
    ping = GpsPing.model_validate_json(
        b'{"unit_id": "SY-P01-M1", "ts": "2026-11-23T18:00:00+08:00", "lat": 27.2, "lon": 111.4}'
    )
    assert ping.schema_version == 1


def test_older_schema_version_is_upcast_before_validation() -> None:
    class Reading(BaseModel):
        schema_version: Literal[2] = 2
        speed_kmh: float

    codec.register_upcaster(Reading, 1, lambda old: {"speed_kmh": old["speed_ms"] * 3.6})
    assert codec.decode(Reading, b'{"schema_version": 1, "speed_ms": 10}').speed_kmh == 36.0
    assert codec.decode(Reading, b'{"schema_version": 2, "speed_kmh": 5}').speed_kmh == 5.0


def test_committed_json_schemas_are_current() -> None:
    stale = [
        path.name
        for path, text in export.expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    extra = {p.name for p in export.JSON_DIR.glob("*.schema.json")} - {
        p.name for p in export.expected_files()
    }
    assert not stale and not extra, f"run `make schemas`: stale {stale}, extra {sorted(extra)}"


def test_topic_catalogue_names_are_unique_and_lookup_works() -> None:
    names = [spec.name for spec in CATALOGUE]
    assert len(names) == len(set(names))
    assert by_name("patrol.pings").key == "unit_id"
    assert by_name("units.state").config()["cleanup.policy"] == "compact"
    with pytest.raises(KeyError):
        by_name("no.such.topic")
