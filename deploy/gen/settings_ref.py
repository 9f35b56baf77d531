"""What each program reads from its environment, from its pydantic-settings model: the variable
names (for the test that every `KJ_*` a manifest sets is read by the program it reaches) and the
settings reference `docs/settings.md` (name, type, default, meaning)."""

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, get_args

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from kj_alarm.settings import AlarmSettings
from kj_console.settings import ConsoleSettings
from kj_devices.settings import DevicesSettings
from kj_dispatch.settings import DispatchSettings
from kj_notify.settings import NotifySettings
from kj_runtime.integrations import IntegrationSettings
from kj_runtime.retention import RetentionSettings
from kj_runtime.settings import KafkaSettings, PostgresSettings, ServiceSettings
from kj_tracking.settings import TrackingSettings

# program (Kubernetes name or console script) -> the model it reads its settings with
PROGRAMS: dict[str, type[BaseSettings]] = {
    "kj-alarm": AlarmSettings,
    "kj-patrol-tracking": TrackingSettings,
    "kj-dispatch": DispatchSettings,
    "kj-notify": NotifySettings,
    "kj-devices": DevicesSettings,
    "kj-console": ConsoleSettings,
    "kj-infra": ServiceSettings,  # migrations, topics and the city (the kj-migrate Job)
}
# programs with settings that deploy/k8s does not run (`make demo` and `make run` start them),
# listed in docs/settings.md all the same: none since the console is deployed (decision 0105)
NOT_DEPLOYED: dict[str, type[BaseSettings]] = {}
SHARED: tuple[type[BaseSettings], ...] = (KafkaSettings, PostgresSettings)
# models a program reads besides its own and the shared ones
EXTRA: dict[str, tuple[type[BaseSettings], ...]] = {
    "kj-infra": (RetentionSettings,),
    "kj-alarm": (IntegrationSettings,),
    "kj-notify": (IntegrationSettings,),
}


@dataclass(frozen=True)
class Setting:
    env: str  # the variable, upper case (pydantic-settings matches it in any case)
    type: str
    default: str
    meaning: str
    credential: bool  # production must provide it (or its `_FILE` twin)


def _type(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not get_args(annotation) else None
    return text or re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])", "", str(annotation))


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_plain(k)}: {_plain(v)}" for k, v in value.items()) + "}"
    return str(value.value) if isinstance(value, Enum) else str(value)


def _default(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    if info.default_factory is not None:
        if name == "replica_id":
            return "random per process"
        if name == "instance":
            return "the host name"
        try:
            value = info.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "computed"
        if isinstance(value, BaseModel):
            return "(below)"
        return _plain(value) if value not in ({}, []) else "empty"
    if info.default is PydanticUndefined:
        return "required"
    value = info.default
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, Path):
        return _relative(value)
    if isinstance(value, bool) or value is None:
        return str(value).lower() if isinstance(value, bool) else "unset"
    return _plain(value)


def _relative(path: Path) -> str:
    from kj_runtime.settings import REPO_ROOT

    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


@cache
def _comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment above each field (its block) and the one at the end of its line."""
    try:
        lines = inspect.getsource(model).splitlines()
    except (OSError, TypeError):
        return {}
    tree = ast.parse(textwrap.dedent("\n".join(lines)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    found: dict[str, str] = {}
    group, previous_end = "", -2
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        index = node.lineno - 1
        above: list[str] = []
        j = index - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            above.insert(0, lines[j].strip().lstrip("#").strip())
            j -= 1
        own = lines[index].split("  # ", 1)[1].strip() if "  # " in lines[index] else ""
        if above:
            group = " ".join(above)
        elif j != previous_end:  # a blank line ends the group a comment block began
            group = ""
        previous_end = (node.end_lineno or node.lineno) - 1
        # a one-line heading over a group ("# validation") is not the field's meaning
        block = " ".join(above) if (len(above) > 1 or not own) else ""
        meaning = " ".join(p for p in (block, own) if p) or group
        found[node.target.id] = meaning.removeprefix("noqa: ")
    return found


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation
        if isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
        and not issubclass(annotation, BaseSettings)
        else None
    )


def _env_names(model: type[BaseSettings], name: str, info: FieldInfo) -> list[str]:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [c.upper() for c in alias.choices if isinstance(c, str) and c.startswith("KJ_")]
    if isinstance(alias, str):
        return [alias.upper()]
    return [f"{model.model_config.get('env_prefix', '')}{name}".upper()]


def settings_of(model: type[BaseSettings]) -> list[Setting]:
    """The variables `model` reads, its shared Kafka and PostgreSQL settings left out (they read
    their own prefixes; see `variables`)."""
    delimiter = model.model_config.get("env_nested_delimiter")
    comments = _comments(model)
    for base in model.__mro__[1:]:
        if isinstance(base, type) and issubclass(base, BaseModel):
            comments = {**_comments(base), **comments}
    found = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            continue  # KafkaSettings, PostgresSettings: their own prefix
        credential = bool(
            isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("credential")
        )
        for env in _env_names(model, name, info):
            found.append(
                Setting(
                    env,
                    _type(annotation),
                    _default(model, name, info),
                    comments.get(name, ""),
                    credential,
                )
            )
            nested = _nested_model(annotation)
            if nested is not None and delimiter:
                inner = _comments(nested)
                for sub, sub_info in nested.model_fields.items():
                    found.append(
                        Setting(
                            f"{env}{delimiter}{sub}".upper(),
                            _type(sub_info.annotation),
                            _default(nested, sub, sub_info),
                            inner.get(sub, ""),
                            False,
                        )
                    )
    return found


def variables(program: str) -> dict[str, Setting]:
    """Every variable `program` reads, by name: its own and the shared Kafka/PostgreSQL ones."""
    model = PROGRAMS[program]
    found = {s.env: s for shared in SHARED for s in settings_of(shared)}
    found.update({s.env: s for extra in EXTRA.get(program, ()) for s in settings_of(extra)})
    found.update({s.env: s for s in settings_of(model)})
    return found


def credentials(program: str) -> list[str]:
    """The credential variables `program` needs in production (each may come as `<NAME>_FILE`)."""
    return sorted(s.env for s in settings_of(PROGRAMS[program]) if s.credential)


def _table(settings: list[Setting]) -> list[str]:
    rows = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    for s in settings:
        meaning = s.meaning + (" **Production must set it.**" if s.credential else "")
        cells = [f"`{s.env}`", f"`{s.type}`", f"`{s.default}`", meaning]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def reference() -> str:
    """docs/settings.md."""
    out = [
        "# Settings",
        "",
        "Generated by `python -m deploy.gen` from the pydantic-settings models: do not edit by",
        "hand. Every setting is an environment variable (any case). Nested values take JSON or",
        "`__` paths where shown. `KJ_STATE_DIR` (where local runs keep their data, default",
        "`.local/`) and the local infrastructure's ports are read by the scripts, below.",
        "",
    ]
    sections: list[tuple[str, list[Setting]]] = [
        ("Kafka (every service)", settings_of(KafkaSettings)),
        ("PostgreSQL (every service)", settings_of(PostgresSettings)),
    ]
    sections += [
        (program, settings_of(model)) for program, model in {**PROGRAMS, **NOT_DEPLOYED}.items()
    ]
    sections.append(
        ("Retention (`kj-infra prune`, the kj-prune CronJob)", settings_of(RetentionSettings))
    )
    sections.append(
        ("Integration registry (kj-alarm, kj-notify)", settings_of(IntegrationSettings))
    )
    for title, settings in sections:
        out += [f"## {title}", "", *_table(settings), ""]
    out += ["## Local runs (make, scripts)", "", *_table(list(LOCAL)), ""]
    return "\n".join(out)


# read by the Makefile and the scripts under infra/ and deploy/, not by a pydantic model
LOCAL: tuple[Setting, ...] = (
    Setting(
        "KJ_STATE_DIR",
        "path",
        ".local",
        "where local runs keep everything they write: Kafka and PostgreSQL data, the tools"
        " `make install` builds, each run's logs (`runs/<time>/`), demo reports, pictures and"
        " Prometheus data",
        False,
    ),
    Setting(
        "KJ_KAFKA_CONTROLLER_PORT",
        "int",
        "19093",
        "the local broker's KRaft controller port",
        False,
    ),
    Setting("KJ_PROMETHEUS_PORT", "int", "19090", "the demo's Prometheus", False),
    Setting(
        "KJ_CITY_DIR",
        "path",
        "cities/shaoyang",
        "the city (`city.yaml`, zones, checkpoints); another city is another folder",
        False,
    ),
)
