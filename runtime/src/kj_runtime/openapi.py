"""OpenAPI for a request a handler reads itself (its own parsing and refusals): the body's JSON
schema given through a route's `openapi_extra`, with pydantic's nested `$defs` written in place,
since a schema there cannot point into them."""

from typing import Any

from pydantic import TypeAdapter


def request_body(kind: Any) -> dict[str, Any]:
    """`openapi_extra` documenting a required JSON body of `kind` (a model or any type)."""
    schema = TypeAdapter(kind).json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            # its mapping names `$defs`; the tagged variants say the same without it
            return {k: inline(v) for k, v in node.items() if k != "discriminator"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    body = {"required": True, "content": {"application/json": {"schema": inline(schema)}}}
    return {"requestBody": body}
