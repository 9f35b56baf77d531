"""Write the JSON Schema of every contract model into schemas/json/ (`make schemas`)."""

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kj_schemas.examples import EXAMPLES

JSON_DIR = Path(__file__).resolve().parents[2] / "json"


def models() -> list[type[BaseModel]]:
    return sorted({example.model for example in EXAMPLES}, key=lambda model: model.__name__)


def schema_id(model: type[BaseModel]) -> str:
    return f"https://kuaijing.example/schemas/{model.__name__}.schema.json"


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its valid example (examples.py) as `examples`."""
    schema = model.model_json_schema(mode="validation")
    schema["examples"] = [example.documented for example in EXAMPLES if example.model is model]
    return schema


def render(model: type[BaseModel]) -> str:
    schema = schema_of(model)
    schema["$id"] = schema_id(model)
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def expected_files() -> dict[Path, str]:
    return {JSON_DIR / f"{model.__name__}.schema.json": render(model) for model in models()}


def main() -> int:
    JSON_DIR.mkdir(exist_ok=True)
    files = expected_files()
    for stale in set(JSON_DIR.glob("*.schema.json")) - set(files):
        stale.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} JSON Schemas to {JSON_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
