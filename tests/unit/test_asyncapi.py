"""The AsyncAPI document an integrator loads: every topic and the terminal socket, each message's
schema present, every reference resolving, and every example valid against its schema."""

from typing import Any

import jsonschema
import pytest
import yaml

from kj_schemas import asyncapi, export
from kj_schemas.topics import CATALOGUE

DOCUMENT: dict[str, Any] = yaml.safe_load(export.ASYNCAPI_FILE.read_text(encoding="utf-8"))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = DOCUMENT
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_is_an_asyncapi_3_document_with_its_top_level_parts() -> None:
    assert DOCUMENT["asyncapi"] == "3.0.0"
    assert DOCUMENT["info"]["title"] and DOCUMENT["info"]["version"]
    assert set(DOCUMENT) <= {
        "asyncapi",
        "id",
        "info",
        "servers",
        "defaultContentType",
        "channels",
        "operations",
        "components",
    }
    for server in DOCUMENT["servers"].values():
        assert server["host"] and server["protocol"] in {"kafka", "ws", "wss"}


def test_names_every_topic_of_the_catalogue_with_its_value_model() -> None:
    by_address = {channel["address"]: channel for channel in DOCUMENT["channels"].values()}
    for spec in CATALOGUE:
        assert spec.name in by_address, f"{spec.name} is not in the AsyncAPI document"
        messages = by_address[spec.name]["messages"]
        assert spec.value.__name__ in messages
        assert by_address[spec.name]["bindings"]["kafka"]["partitions"] == spec.partitions


def test_intake_topic_also_carries_updates_and_cancels() -> None:
    intake = DOCUMENT["channels"][asyncapi.channel_id("alarms.intake")]["messages"]
    assert set(intake) == {"AlarmReport", "AlarmUpdate", "AlarmCancel"}


def test_terminal_socket_carries_the_frames_each_way() -> None:
    socket = next(c for c in DOCUMENT["channels"].values() if c["address"] == "/v1/terminals/ws")
    assert set(socket["messages"]) == {
        "AckFrame",
        "ReadFrame",
        "AnswerFrame",
        "HelloFrame",
        "WorkOrderFrame",
        "OkFrame",
        "ErrorFrame",
    }
    actions = {
        op["action"]: {ref["$ref"].rsplit("/", 1)[-1] for ref in op["messages"]}
        for op in DOCUMENT["operations"].values()
        if op["channel"]["$ref"].endswith("/terminalSocket")
    }
    assert actions == {
        "receive": {"AckFrame", "ReadFrame", "AnswerFrame"},
        "send": {"HelloFrame", "WorkOrderFrame", "OkFrame", "ErrorFrame"},
    }


def test_every_channel_message_has_a_payload_schema_in_the_document() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for channel in DOCUMENT["channels"].values():
        assert channel["address"]
        for name, message in channel["messages"].items():
            ref = message["payload"]["$ref"]
            assert ref == f"#/components/schemas/{name}"
            assert schemas[name]["type"] == "object"


def test_every_operation_points_at_its_channel_and_that_channels_messages() -> None:
    assert DOCUMENT["operations"]
    for operation in DOCUMENT["operations"].values():
        assert operation["action"] in {"send", "receive"}
        channel_ref = operation["channel"]["$ref"]
        _resolve(channel_ref)
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/")


def test_every_reference_resolves() -> None:
    refs = _refs(DOCUMENT)
    assert len(refs) > len(CATALOGUE)
    for ref in refs:
        _resolve(ref)


@pytest.mark.parametrize("name", sorted(DOCUMENT["components"]["schemas"]))
def test_every_example_is_valid_against_its_schema(name: str) -> None:
    schema = DOCUMENT["components"]["schemas"][name]
    root = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    for example in schema.get("examples", []):
        jsonschema.Draft202012Validator(root).validate(example)
