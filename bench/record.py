"""Benchmarks write their figures here: one flat JSON object in bench/results.json, merged, so
each service's benchmark adds its own keys without erasing the others'."""

import json
import os
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def record(figures: Mapping[str, float | int | str]) -> dict[str, object]:
    current: dict[str, object] = {}
    if RESULTS.exists():
        current = json.loads(RESULTS.read_text(encoding="utf-8"))
    current.update(figures)
    current["machine.cores"] = os.cpu_count() or 0
    current["machine.python"] = platform.python_version()
    current["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return current
