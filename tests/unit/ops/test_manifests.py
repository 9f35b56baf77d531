"""Both overlays render with kustomize and validate offline against the Kubernetes schemas
(kubernetes-validate). Strimzi, CloudNativePG and ServiceMonitor resources are custom: that
library has no schema for them, so their shape is checked here field by field instead."""

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy.gen.services import SERVICES

REPO = Path(__file__).resolve().parents[3]
K8S_VERSION = "1.32"
CUSTOM = {
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}
OVERLAYS = ["dev", "prod"]


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        message = "kubectl (kustomize built in) is missing: bash deploy/install-tools.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    run = subprocess.run(
        [kubectl, "kustomize", str(REPO / "deploy/k8s/overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return tuple(d for d in yaml.safe_load_all(run.stdout) if d)


def _kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_standard_resource_validates_strictly(overlay: str) -> None:
    docs = render(overlay)
    standard = [d for d in docs if (d["apiVersion"], d["kind"]) not in CUSTOM]
    assert len(standard) > 20
    for doc in standard:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    kinds = {(d["apiVersion"], d["kind"]) for d in docs} - {
        (d["apiVersion"], d["kind"]) for d in standard
    }
    assert kinds == CUSTOM


def test_a_misspelt_field_is_caught() -> None:
    deployment = _kind(render("dev"), "Deployment")[0]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


@pytest.mark.parametrize(("overlay", "replicas"), [("dev", 1), ("prod", 3)])
def test_custom_resources_have_their_shape(overlay: str, replicas: int) -> None:
    docs = render(overlay)
    namespace = "kj-dev" if overlay == "dev" else "kj"
    (kafka,) = _kind(docs, "Kafka")
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert kafka["spec"]["kafka"]["config"]["default.replication.factor"] == replicas
    pools = _kind(docs, "KafkaNodePool")
    roles = {r for p in pools for r in p["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    assert all(p["spec"]["replicas"] == replicas for p in pools)
    for doc in [kafka, *pools, *_kind(docs, "KafkaTopic")]:
        assert doc["metadata"]["namespace"] == namespace
    for topic in _kind(docs, "KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert isinstance(topic["spec"]["partitions"], int) and topic["spec"]["partitions"] > 0
    (pg,) = _kind(docs, "Cluster")
    assert pg["spec"]["instances"] == replicas
    assert pg["spec"]["bootstrap"]["initdb"]["database"] == "kuaijing"
    monitors = _kind(docs, "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {s.name for s in SERVICES}
    for monitor in monitors:
        assert monitor["spec"]["endpoints"] == [
            {"port": "http", "path": "/metrics", "interval": "15s"}
        ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_probe_their_health_endpoints_and_run_unprivileged(overlay: str) -> None:
    docs = render(overlay)
    deployments = {d["metadata"]["name"]: d for d in _kind(docs, "Deployment")}
    assert set(deployments) == {s.name for s in SERVICES}
    for s in SERVICES:
        pod = deployments[s.name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["ports"][0]["containerPort"] == s.port
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        env = {e["name"]: e for e in container["env"]}
        assert env["KJ_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "kj-pg-app"
        assert env[f"{s.env_prefix}HTTP_PORT"]["value"] == str(s.port)
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert env["KJ_CITY_DIR"]["value"] == mounts["city"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_committed(overlay: str) -> None:
    docs = render(overlay)
    assert _kind(docs, "Secret") == []
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for d in _kind(docs, "Deployment")
        for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert refs == {"kj-pg-app", "kj-alarm-integrations", "kj-notify-device-tokens"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaling_and_disruption_budgets(overlay: str) -> None:
    docs = render(overlay)
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in _kind(docs, "HorizontalPodAutoscaler")}
    assert hpas == {"kj-patrol-tracking", "kj-notify"}
    assert {p["metadata"]["name"] for p in _kind(docs, "PodDisruptionBudget")} == {
        s.name for s in SERVICES
    }


def test_network_policies_let_each_service_reach_only_what_it_needs() -> None:
    docs = render("prod")
    policies = {p["metadata"]["name"]: p["spec"] for p in _kind(docs, "NetworkPolicy")}
    deny = policies["kj-default-deny"]
    assert "ingress" not in deny and "egress" not in deny
    for s in SERVICES:
        spec = policies[s.name]
        ports = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
        expected = {53, 9092, 5432} | ({443} if s.calls_out else set())
        assert ports == expected, s.name
        sources = {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for rule in spec["ingress"]
            for peer in rule["from"]
        }
        assert sources == ({"monitoring", "ingress-nginx"} if s.public else {"monitoring"})
        assert {p["port"] for r in spec["ingress"] for p in r["ports"]} == {s.port}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for rule in selector.get("matchExpressions", []):
        assert rule["operator"] == "In"
        if labels.get(rule["key"]) not in rule["values"]:
            return False
    return True


def test_default_deny_covers_our_pods_and_leaves_kafka_alone() -> None:
    """Strimzi copies the Kafka resource's labels (part-of included) onto its broker pods: the
    platform's default deny must not cut the brokers' own traffic."""
    docs = render("prod")
    deny = next(
        p for p in _kind(docs, "NetworkPolicy") if p["metadata"]["name"] == "kj-default-deny"
    )
    (kafka,) = _kind(docs, "Kafka")
    broker_pod = {**kafka["metadata"]["labels"], "strimzi.io/cluster": "kj"}
    assert not _selects(deny["spec"]["podSelector"], broker_pod)
    for d in _kind(docs, "Deployment") + _kind(docs, "Job"):
        pod_labels = d["spec"]["template"]["metadata"]["labels"]
        assert _selects(deny["spec"]["podSelector"], pod_labels), d["metadata"]["name"]
        peers = kafka["spec"]["kafka"]["listeners"][0]["networkPolicyPeers"]
        assert _selects(peers[0]["podSelector"], pod_labels)
