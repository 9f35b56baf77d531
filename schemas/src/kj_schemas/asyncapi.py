"""The AsyncAPI 3.0 document of the platform's messages (decision 0135): one channel per topic of
the catalogue with its key, value model and Kafka settings, and the terminal WebSocket with
the frames each way. Generated from the models with the JSON Schemas (`make schemas`); the
schemas are embedded under `components.schemas`, so the file stands alone in any AsyncAPI tool.

Operations are the platform's: `receive` where outside parties produce (110 integrations on
`alarms.intake`, terminals on `patrol.pings` and the socket), `send` where it produces."""

import inspect
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from kj_schemas import terminal
from kj_schemas.alarms import AlarmCancel, AlarmUpdate
from kj_schemas.examples import EXAMPLES, FRAMES
from kj_schemas.topics import CATALOGUE, TopicSpec

VERSION = "1.0.0"
KAFKA_BINDING = "0.5.0"
WS_BINDING = "0.1.0"
SCHEMA_REF = "#/components/schemas/{model}"
# topics outside parties write to; the platform writes every other one
PRODUCED_OUTSIDE = frozenset({"alarms.intake", "patrol.pings"})
# what else a topic carries beside its catalogue model (alarms.decode_intake tells them apart)
ALSO_ON: dict[str, tuple[type[BaseModel], ...]] = {"alarms.intake": (AlarmUpdate, AlarmCancel)}

TERMINAL_IN: tuple[type[BaseModel], ...] = (
    terminal.AckFrame,
    terminal.ReadFrame,
    terminal.AnswerFrame,
)
TERMINAL_OUT: tuple[type[BaseModel], ...] = (
    terminal.HelloFrame,
    terminal.WorkOrderFrame,
    terminal.OkFrame,
    terminal.ErrorFrame,
)


def channel_id(address: str) -> str:
    """`alarms.intake` -> `alarmsIntake`."""
    head, *rest = address.replace("_", ".").split(".")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def topic_models(spec: TopicSpec) -> tuple[type[BaseModel], ...]:
    return (spec.value, *ALSO_ON.get(spec.name, ()))


def all_models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    for spec in CATALOGUE:
        for model in topic_models(spec):
            seen[model.__name__] = model
    for model in (*TERMINAL_IN, *TERMINAL_OUT):
        seen[model.__name__] = model
    return [seen[name] for name in sorted(seen)]


def _drop_discriminators(node: Any) -> Any:
    """pydantic writes OpenAPI's discriminator object; AsyncAPI's is a bare property name with
    another meaning. The tagged variants (a `const` each) say the same without it."""
    if isinstance(node, dict):
        return {k: _drop_discriminators(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_drop_discriminators(v) for v in node]
    return node


def schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [(model, "validation") for model in all_models()], ref_template=SCHEMA_REF
    )
    found: dict[str, Any] = _drop_discriminators(top["$defs"])
    for example in EXAMPLES:
        if example.model.__name__ in found:
            found[example.model.__name__]["examples"] = [example.documented]
    for model, frames in FRAMES.items():
        found[model.__name__]["examples"] = frames
    return dict(sorted(found.items()))


def _summary(model: type[BaseModel]) -> str:
    first = inspect.cleandoc(model.__doc__ or model.__name__).split("\n\n")[0]
    return " ".join(first.split())


def _kafka_message(spec: TopicSpec, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "title": model.__name__,
        "summary": _summary(model),
        "contentType": "application/json",
        "payload": {"$ref": SCHEMA_REF.format(model=model.__name__)},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"the message's {spec.key}, UTF-8"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _topic_channel(spec: TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {"cleanup.policy": [spec.cleanup_policy]}
    if spec.retention_ms is not None:
        config["retention.ms"] = spec.retention_ms
    return {
        "address": spec.name,
        "title": spec.name,
        "description": f"{spec.description}. Key: {spec.key}.",
        "servers": [{"$ref": "#/servers/kafka"}],
        "messages": {model.__name__: _kafka_message(spec, model) for model in topic_models(spec)},
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions,
                "topicConfiguration": config,
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _frame_message(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "title": model.__name__,
        "summary": _summary(model),
        "contentType": "application/json",
        "payload": {"$ref": SCHEMA_REF.format(model=model.__name__)},
    }


def _terminal_channel() -> dict[str, Any]:
    closes = "; ".join(f"{code}: {why}" for code, why in terminal.CLOSE_CODES.items())
    return {
        "address": terminal.PATH,
        "title": "terminal socket",
        "description": (
            "A vehicle terminal's or the officer app's socket on notify, one JSON object per "
            "text (or binary UTF-8) frame. A terminal sends `Authorization: Bearer <device "
            "token>`; the officer app, which cannot set headers, offers `kj-ticket.<ticket>` "
            "in `Sec-WebSocket-Protocol` (decision 0092) and it is echoed back. A bad frame "
            f"gets an `error` frame and the socket stays open. Close codes: {closes}."
        ),
        "servers": [{"$ref": "#/servers/notify"}],
        "messages": {model.__name__: _frame_message(model) for model in TERMINAL_IN + TERMINAL_OUT},
        "bindings": {
            "ws": {
                "method": "GET",
                "query": {
                    "type": "object",
                    "required": ["unit_id"],
                    "properties": {"unit_id": {"type": "string", "description": "the unit"}},
                },
                "headers": {
                    "type": "object",
                    "properties": {
                        "Authorization": {"type": "string", "description": "Bearer <token>"},
                        "Sec-WebSocket-Protocol": {
                            "type": "string",
                            "description": "kj-ticket.<ticket> (officer app)",
                        },
                    },
                },
                "bindingVersion": WS_BINDING,
            }
        },
    }


def _operation(action: str, channel: str, messages: list[str], summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "summary": summary,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in messages],
    }


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in CATALOGUE:
        cid = channel_id(spec.name)
        channels[cid] = _topic_channel(spec)
        action = "receive" if spec.name in PRODUCED_OUTSIDE else "send"
        names = [model.__name__ for model in topic_models(spec)]
        operations[f"{action}{cid[:1].upper()}{cid[1:]}"] = _operation(
            action, cid, names, f"the platform {action}s on {spec.name}"
        )
    channels["terminalSocket"] = _terminal_channel()
    operations["receiveTerminalFrames"] = _operation(
        "receive", "terminalSocket", [m.__name__ for m in TERMINAL_IN], "frames from a terminal"
    )
    operations["sendTerminalFrames"] = _operation(
        "send", "terminalSocket", [m.__name__ for m in TERMINAL_OUT], "frames to a terminal"
    )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "快警 messages",
            "version": VERSION,
            "description": (
                "The Kafka topics of the 快警 dispatch platform and the terminal WebSocket. "
                "Generated from kj_schemas (`make schemas`); docs/contracts.md explains the "
                "rules every message follows. The HTTP APIs are in each service's OpenAPI "
                "document (`/openapi.json`)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "description": "the development broker (KJ_KAFKA_BOOTSTRAP_SERVERS elsewhere)",
            },
            "notify": {
                "host": "127.0.0.1:8040",
                "protocol": "ws",
                "description": "the notify gateway in development (wss behind the ingress)",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas()},
    }
