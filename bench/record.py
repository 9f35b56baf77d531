"""Benchmarks write their figures here: one flat JSON object in bench/results.json, merged, so
each service's benchmark adds its own keys without erasing the others'."""

import json
import os
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def record(
    figures: Mapping[str, float | int | str], *, replacing: str | None = None
) -> dict[str, object]:
    """Merge `figures` in. With `replacing` (a key prefix), every key under it is dropped first:
    the figures are one run's whole picture, and a key that run did not produce (a process it
    did not start) must not stay beside them as if it had."""
    current: dict[str, object] = {}
    if RESULTS.exists():
        current = json.loads(RESULTS.read_text(encoding="utf-8"))
    if replacing is not None:
        current = {k: v for k, v in current.items() if not k.startswith(replacing)}
    current.update(figures)
    current["machine.cores"] = os.cpu_count() or 0
    current["machine.python"] = platform.python_version()
    current["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return current
