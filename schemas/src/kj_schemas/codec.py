"""Bytes on the wire to contract models and back, with upcasting of older schema versions.

A change to a message is additive (a new optional field), or it raises `schema_version` and
registers an upcaster here that turns the previous version's JSON into the new one."""

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (model class name, from version) -> function producing version + 1
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register_upcaster(model: type[BaseModel], from_version: int, upcaster: Upcaster) -> None:
    _UPCASTERS[(model.__name__, from_version)] = upcaster


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json(exclude_none=True).encode()


def decode(model: type[M], raw: bytes | str) -> M:
    """Parse and validate; raises pydantic.ValidationError or ValueError on bad input."""
    if not any(name == model.__name__ for name, _ in _UPCASTERS):
        return model.model_validate_json(raw)
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("a message is a JSON object")
    version = data.get("schema_version", 1)
    while isinstance(version, int) and (model.__name__, version) in _UPCASTERS:
        data = _UPCASTERS[(model.__name__, version)](data)
        version += 1
        data["schema_version"] = version
    return model.model_validate(data)


def encode_json(data: Any) -> bytes:
    """Plain JSON for values that are not (yet) models, e.g. a peer's raw record in a test."""
    return orjson.dumps(data)
