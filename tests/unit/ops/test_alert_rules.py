"""Prometheus rules load, every alert has a runbook, and promtool's unit tests show each alert
firing on bad data and silent on good data."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "deploy/prometheus/rules.yml"
TESTS = sorted((REPO / "deploy/prometheus/tests").glob("*_test.yml"))


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run `bash deploy/install-tools.sh` (Debian's prometheus)")
    return found


def _alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_promtool_accepts_the_rules() -> None:
    run = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_promtool_unit_tests_pass() -> None:
    run = subprocess.run(
        [_promtool(), "test", "rules", *map(str, TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO / "deploy/prometheus/tests",
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_has_a_summary_and_a_runbook_line() -> None:
    docs = (REPO / "docs/operations.md").read_text(encoding="utf-8")
    for alert in _alerts():
        notes = alert["annotations"]
        assert notes["summary"] and notes["runbook"], alert["alert"]
        anchor = notes["runbook_url"].split("#", 1)[1]
        assert f'id="{anchor}"' in docs, f"docs/operations.md has no anchor {anchor}"


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {a["alert"] for a in _alerts()}
    assert names - firing == set(), "alerts never seen firing"
    assert names - silent == set(), "alerts never seen silent"


def test_the_demo_prometheus_config_is_valid_and_scrapes_every_service() -> None:
    config = REPO / "deploy/prometheus/demo.yml"
    run = subprocess.run(
        [_promtool(), "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    jobs = {j["job_name"] for j in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert jobs == {
        "kj-alarm",
        "kj-patrol-tracking",
        "kj-dispatch",
        "kj-notify",
        "kj-devices",
        "kj-console",
    }
