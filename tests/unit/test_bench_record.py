"""bench/record.py: figures merge into bench/results.json; a run that is one whole picture (the
soak) replaces every figure under its prefix, so a process it did not run leaves no figure."""

import json
from pathlib import Path

import pytest

from bench import record as results


@pytest.fixture
def results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "results.json"
    monkeypatch.setattr(results, "RESULTS", path)
    return path


def test_a_benchmark_adds_its_keys_and_keeps_the_others(results_file: Path) -> None:
    results.record({"alarm.p99_ms": 24.9, "soak.lag_end_s": 0.6})
    results.record({"alarm.p99_ms": 30.1})

    stored = json.loads(results_file.read_text(encoding="utf-8"))
    assert stored["alarm.p99_ms"] == 30.1
    assert stored["soak.lag_end_s"] == 0.6


def test_a_soak_replaces_the_last_soaks_figures_not_the_others(results_file: Path) -> None:
    results.record(
        {
            "alarm.p99_ms": 24.9,
            "soak.rss_growth_mb_per_h.patrol-tracking": 22.5,
            "soak.rss_growth_mb_per_h.patrol-tracking-tracks": 81.2,  # a split-tracking soak
        }
    )
    results.record({"soak.rss_growth_mb_per_h.patrol-tracking": -2.8}, replacing="soak.")

    stored = json.loads(results_file.read_text(encoding="utf-8"))
    assert stored["soak.rss_growth_mb_per_h.patrol-tracking"] == -2.8
    assert "soak.rss_growth_mb_per_h.patrol-tracking-tracks" not in stored
    assert stored["alarm.p99_ms"] == 24.9
