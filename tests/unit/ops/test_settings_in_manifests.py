"""Every `KJ_*` variable a rendered manifest gives a program is one of that program's settings,
every credential it needs in production is provided (from a Secret), and the values parse.

The manifests once set `KJ_NOTIFY_DEVICE_TOKENS` (the setting is `device_token_sha256`), so no
terminal could authenticate in Kubernetes; gave notify no integration token hashes, so every
callback registration was 401; and put `KJ_LOG_LEVEL`, read by nothing, in the shared ConfigMap."""

import json
from pathlib import Path
from typing import Any

import pytest

from deploy.gen.settings_ref import PROGRAMS, credentials, variables

from .rendered import OVERLAYS, kind, render

Docs = tuple[dict[str, Any], ...]
PROGRAM_OF_JOB = {"kj-migrate": "kj-infra", "kj-prune": "kj-infra"}


def _pods(docs: Docs) -> list[tuple[str, dict[str, Any]]]:
    """(program, pod spec) of every workload."""
    found = []
    for d in docs:
        name = d["metadata"]["name"]
        if d["kind"] in ("Deployment", "StatefulSet", "Job"):
            found.append((PROGRAM_OF_JOB.get(name, name), d["spec"]["template"]["spec"]))
        elif d["kind"] == "CronJob":
            pod = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            found.append((PROGRAM_OF_JOB[name], pod))
    return found


def environment(docs: Docs, pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each variable the container gets, by name: `env` entries and `envFrom` ConfigMap keys
    (as `{"value": ...}`)."""
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in kind(docs, "ConfigMap")}
    (container,) = pod["containers"]
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update({key: {"name": key, "value": v} for key, v in config_maps[ref].items()})
    env.update({e["name"]: e for e in container.get("env", [])})
    return env


def unknown_variables(program: str, env: dict[str, Any]) -> list[str]:
    known = variables(program)
    return sorted(name for name in env if name.startswith("KJ_") and name.upper() not in known)


def _secret_mounts(pod: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """mount path -> the Secrets behind it (projected or plain)."""
    volumes = {}
    for v in pod.get("volumes", []):
        if "secret" in v:
            volumes[v["name"]] = [{"name": v["secret"]["secretName"], **v["secret"]}]
        elif "projected" in v:
            volumes[v["name"]] = [s["secret"] for s in v["projected"]["sources"] if "secret" in s]
    (container,) = pod["containers"]
    return {
        m["mountPath"]: volumes[m["name"]]
        for m in container.get("volumeMounts", [])
        if m["name"] in volumes
    }


def missing_credentials(program: str, env: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    """Credentials neither set from a Secret nor read from a mounted Secret (`_FILE`)."""
    mounts = _secret_mounts(pod)
    missing = []
    for name in credentials(program):
        direct = env.get(name, {}).get("valueFrom", {}).get("secretKeyRef")
        file = env.get(f"{name}_FILE", {}).get("value")
        secrets = mounts.get(file, []) if file else []
        if direct and not direct.get("optional"):
            continue
        if any(not s.get("optional") for s in secrets):
            continue
        missing.append(name)
    return missing


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kj_variable_is_a_setting_of_the_program_it_reaches(overlay: str) -> None:
    docs = render(overlay)
    pods = _pods(docs)
    assert {program for program, _ in pods} == set(PROGRAMS)
    for program, pod in pods:
        assert unknown_variables(program, environment(docs, pod)) == [], program


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_credential_a_service_needs_is_provided(overlay: str) -> None:
    docs = render(overlay)
    for program, pod in _pods(docs):
        assert missing_credentials(program, environment(docs, pod), pod) == [], program


def test_the_checks_name_the_defects_they_guard_against() -> None:
    """The manifests as they were: a misspelt variable, a variable no program reads, and
    notify without its integration hashes (nor, before decision 0142, the 12345 hotline's
    signing key)."""
    env = {
        "KJ_NOTIFY_DEVICE_TOKENS": {"valueFrom": {"secretKeyRef": {"name": "x", "key": "t"}}},
        "KJ_LOG_LEVEL": {"value": "info"},
        "KJ_NOTIFY_HTTP_PORT": {"value": "8040"},
    }
    assert unknown_variables("kj-notify", env) == ["KJ_LOG_LEVEL", "KJ_NOTIFY_DEVICE_TOKENS"]
    assert missing_credentials("kj-notify", env, {"containers": [{}]}) == [
        "KJ_NOTIFY_DEVICE_TOKEN_SHA256",
        "KJ_NOTIFY_HOTLINE_SIGNING_SECRET",
        "KJ_NOTIFY_INTEGRATION_TOKEN_SHA256",
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_values_the_manifests_set_are_valid_settings(
    overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each service's settings model accepts its literal values, with every mounted credential
    directory standing in as a folder holding one valid table."""
    docs = render(overlay)
    table = tmp_path / "tokens.json"
    table.write_text(json.dumps({"u1": "0" * 64}))
    for program, pod in _pods(docs):
        mounts = _secret_mounts(pod)
        with monkeypatch.context() as patch:
            for name, entry in environment(docs, pod).items():
                if "value" not in entry or not name.startswith("KJ_"):
                    continue
                value = str(table) if entry["value"] in mounts else entry["value"]
                if name == "KJ_CITY_DIR":
                    continue  # the mounted city is the repository's in a checkout
                patch.setenv(name, value)
            settings = PROGRAMS[program]()
        if program != "kj-infra":
            assert settings.http_host == "0.0.0.0"


def test_the_settings_reference_lists_every_setting_and_is_current() -> None:
    """docs/settings.md is generated from the models: a setting added without regenerating it
    (`python -m deploy.gen`) fails here."""
    from deploy.gen.settings_ref import reference

    from .rendered import REPO

    text = (REPO / "docs/settings.md").read_text(encoding="utf-8")
    for program in PROGRAMS:
        for name in variables(program):
            assert f"`{name}`" in text, name
    assert text == reference()
