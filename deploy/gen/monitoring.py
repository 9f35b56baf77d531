"""What the Prometheus Operator and Grafana read from the cluster: the alert and recording rules
as a PrometheusRule, and each dashboard as a ConfigMap that Grafana's sidecar provisions."""

import json
from typing import Any

from deploy.gen.k8s import labels


def prometheus_rule(rule_file: dict[str, Any]) -> dict[str, Any]:
    """The alerting and recording rules for the Prometheus Operator (the same groups as
    deploy/prometheus/rules.yml, which promtool tests)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "kj-rules", "labels": labels("kj-rules", "monitoring")},
        "spec": rule_file,
    }


def dashboard_config_maps(boards: dict[str, str]) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard, labelled for Grafana's dashboard sidecar
    (`grafana_dashboard: "1"`, the kube-prometheus-stack and Grafana chart default)."""
    docs = []
    for file, text in boards.items():
        name = "kj-dashboard-" + file.removesuffix(".json")
        json.loads(text)  # a broken dashboard fails here, not in Grafana
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "labels": {**labels(name, "monitoring"), "grafana_dashboard": "1"},
                    "annotations": {"grafana_folder": "快警"},
                },
                "data": {file: text},
            }
        )
    return docs
