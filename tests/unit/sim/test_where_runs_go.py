"""`make demo` and `make run` start each service where its settings say, the demo's Prometheus
scrapes them there, and each run writes under KJ_STATE_DIR in a folder of its own."""

from pathlib import Path

import pytest
import yaml

from deploy import demo_config
from deploy.gen.settings_ref import NOT_DEPLOYED, PROGRAMS
from kj_runtime.settings import run_dir
from kj_sim.services import STARTED, ServiceProcesses

MOVED = {
    "KJ_ALARM_HTTP_PORT": "18110",
    "KJ_TRACKING_HTTP_PORT": "18120",
    "KJ_DISPATCH_HTTP_PORT": "18130",
    "KJ_NOTIFY_HTTP_PORT": "18140",
    "KJ_DEVICES_HTTP_PORT": "18150",
    "KJ_CONSOLE_HTTP_PORT": "18160",
}


def test_the_simulators_defaults_are_the_services_own() -> None:
    for s in STARTED:
        model = {**PROGRAMS, **NOT_DEPLOYED}[s.command]
        assert s.default_port == model.model_fields["http_port"].default, s.name


def test_moved_ports_are_where_the_demo_looks_and_what_the_services_get(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, port in MOVED.items():
        monkeypatch.setenv(name, port)
    assert [s.url for s in STARTED] == [f"http://127.0.0.1:{p}" for p in MOVED.values()]
    env = ServiceProcesses.environment({"KJ_NOTIFY_DEV_TOKEN_SECRET": "x"})
    assert {name: env[name] for name in MOVED} == MOVED  # passed on, never overwritten


def test_the_demo_prometheus_scrapes_the_ports_the_settings_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, port in MOVED.items():
        monkeypatch.setenv(name, port)
    out = tmp_path / "demo.yml"
    assert demo_config.main([str(out)]) == 0
    config = yaml.safe_load(out.read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {
        "kj-alarm": ["127.0.0.1:18110"],
        "kj-patrol-tracking": ["127.0.0.1:18120"],
        "kj-dispatch": ["127.0.0.1:18130"],
        "kj-notify": ["127.0.0.1:18140"],
        "kj-devices": ["127.0.0.1:18150"],
        "kj-console": ["127.0.0.1:18160"],
    }
    assert Path(config["rule_files"][0]).is_file()


def test_each_run_writes_in_a_folder_of_its_own_under_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KJ_STATE_DIR", str(tmp_path))
    first = run_dir("demo")
    (first / "logs").mkdir()
    (first / "logs" / "alarm.log").write_text("first run")
    second = run_dir("demo")
    assert first != second and first.parent == second.parent == tmp_path / "demo"
    assert (first / "logs" / "alarm.log").read_text() == "first run"
    assert (tmp_path / "demo" / "latest").resolve() == second.resolve()
