"""The committed files under deploy/ are exactly what the generators write today, the topics are
the catalogue's, and every dashboard query names a metric the services export."""

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from deploy.gen import metrics
from deploy.gen.dashboards import queries
from deploy.gen.outputs import render_all
from deploy.gen.services import SERVICES
from kj_schemas.topics import CATALOGUE

REPO = Path(__file__).resolve().parents[3]
SERIES = re.compile(r"\bkj[_:][a-z0-9_:]+")
RECORDED = re.compile(r"^kj:")


def test_committed_files_are_what_the_generators_write() -> None:
    stale = [
        path
        for path, text in render_all().items()
        if not (REPO / path).exists() or (REPO / path).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"stale, run `uv run python -m deploy.gen`: {stale}"


@pytest.mark.parametrize(("overlay", "replicas"), [("dev", 1), ("prod", 3)])
def test_kafka_topics_are_the_catalogue(overlay: str, replicas: int) -> None:
    path = REPO / "deploy/k8s/overlays" / overlay / "topics.yaml"
    topics = {d["spec"]["topicName"]: d["spec"] for d in yaml.safe_load_all(path.read_text())}
    assert set(topics) == {spec.name for spec in CATALOGUE}
    for spec in CATALOGUE:
        got = topics[spec.name]
        assert got["partitions"] == spec.partitions
        assert got["replicas"] == replicas
        assert got["config"]["cleanup.policy"] == spec.cleanup_policy
        if spec.retention_ms is not None:
            assert got["config"]["retention.ms"] == str(spec.retention_ms)


def _recorded_names() -> set[str]:
    rules = yaml.safe_load((REPO / "deploy/prometheus/rules.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def _dashboard_queries() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((REPO / "deploy/grafana").glob("*.json")):
        for title, expr in queries(json.loads(path.read_text(encoding="utf-8"))):
            found.append((path.name, title, expr))
    return found


def _rule_exprs() -> list[str]:
    rules = yaml.safe_load((REPO / "deploy/prometheus/rules.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_every_dashboard_and_rule_query_names_a_known_metric() -> None:
    known = metrics.known_series() | _recorded_names()
    exprs = [e for _, _, e in _dashboard_queries()] + _rule_exprs()
    assert len(exprs) > 30
    unknown = {name for e in exprs for name in SERIES.findall(e) if name not in known}
    assert not unknown, f"queries name series no metric in deploy/gen/metrics.py has: {unknown}"
    used = {name for e in exprs for name in SERIES.findall(e)}
    unused = [m.name for m in metrics.METRICS if not set(m.series()) & used]
    assert not unused, f"metrics no panel or rule reads: {unused}"


def _registered() -> set[str]:
    return set(REGISTRY._names_to_collectors)  # every sample name, _total/_bucket included


def _import_tree(package: str) -> bool:
    try:
        root = importlib.import_module(package)
    except ImportError:
        return False
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        try:
            importlib.import_module(info.name)
        except Exception:  # a module that needs a server at import is not ours to judge
            continue
    return True


def test_runtime_exports_every_runtime_metric_the_dashboards_use() -> None:
    assert _import_tree("kj_runtime")
    registered = _registered()
    missing = [
        m.name
        for m in metrics.METRICS
        if m.owner == "runtime" and not set(m.series()) <= registered
    ]
    assert not missing, f"kj_runtime does not register {missing}"


MODULES = {
    "kj-alarm": "kj_alarm",
    "kj-patrol-tracking": "kj_tracking",
    "kj-dispatch": "kj_dispatch",
    "kj-notify": "kj_notify",
    "kj-devices": "kj_devices",
    "kj-console": "kj_console",
}


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_service_exports_the_metrics_the_dashboards_use(service: str) -> None:
    """Checks the service's own prometheus_client registry once its code has landed; until it
    registers any metric of its own the names in deploy/gen/metrics.py are the contract."""
    if not _import_tree(MODULES[service]):
        pytest.skip(f"{MODULES[service]} is not importable")
    own = [m for m in metrics.METRICS if m.owner == service]
    registered = _registered()
    prefix = own[0].name.split("_")[1]
    if not any(n.startswith(f"kj_{prefix}_") for n in registered):
        pytest.skip(f"{service} registers no kj_{prefix}_* metric yet")
    missing = [m.name for m in own if not set(m.series()) <= registered]
    assert not missing, f"{service} does not export {missing}: rename in deploy/gen/metrics.py"
