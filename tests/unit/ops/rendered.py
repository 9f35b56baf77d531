"""Both overlays as `kustomize build` renders them, and the custom resources' pinned schemas.

kustomize is the pinned binary `make install` builds from the Go module proxy into
`$KJ_STATE_DIR/bin` (deploy/install-tools.sh, decision 0053); kubectl is not needed."""

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CRDS = Path(__file__).resolve().parent / "crds"
OVERLAYS = ["dev", "prod"]


def kustomize() -> str | None:
    state = Path(os.environ.get("KJ_STATE_DIR") or REPO / ".local")
    for candidate in (state / "bin" / "kustomize", REPO / ".local" / "bin" / "kustomize"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("kustomize")


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    binary = kustomize()
    if binary is None:
        message = "kustomize is missing: `make install` builds it (deploy/install-tools.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    run = subprocess.run(
        [binary, "build", str(REPO / "deploy/k8s/overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return tuple(d for d in yaml.safe_load_all(run.stdout) if d)


def kind(docs: tuple[dict[str, Any], ...], name: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == name]


def _strict(schema: Any) -> Any:
    """Unknown fields are errors, as kubernetes-validate's strict mode makes them for the
    standard kinds (the API server would prune them silently)."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def crd_schema(api_version: str, kind_name: str) -> dict[str, Any] | None:
    group, _, version = api_version.rpartition("/")
    path = CRDS / f"{group}_{version}_{kind_name}.json"
    if not path.exists():
        return None
    return _strict(json.loads(path.read_text(encoding="utf-8")))
