"""Both overlays render with kustomize and validate offline: the standard kinds against the
Kubernetes schemas (kubernetes-validate), the custom resources (Strimzi, CloudNativePG, Barman
Cloud, Prometheus Operator, Gateway API) against their operators' own CRD schemas, pinned in
`crds/`. Both strict: a misspelt field is an error."""

from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from deploy.gen.services import (
    CONSOLE_ALARM_TOKEN,
    CONSOLE_SESSION_SECRET,
    DEVICE_TOKENS,
    HOTLINE_URL,
    INTEGRATION_TOKENS,
    OPERATOR_TOKENS,
    SERVICES,
    TICKET_SECRET,
)

from .rendered import OVERLAYS, REPO, crd_schema, kind, render

K8S_VERSION = "1.32"
CUSTOM = {
    ("kafka.strimzi.io/v1", "Kafka"),
    ("kafka.strimzi.io/v1", "KafkaNodePool"),
    ("kafka.strimzi.io/v1", "KafkaTopic"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("barmancloud.cnpg.io/v1", "ObjectStore"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
}


WORKLOADS = ("Deployment", "StatefulSet")


def _workloads(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for k in WORKLOADS for d in kind(docs, k)}


def _pod_templates(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    """Every pod template: the services', the migration Job's and the CronJobs'."""
    found = {n: w["spec"]["template"] for n, w in _workloads(docs).items()}
    found |= {j["metadata"]["name"]: j["spec"]["template"] for j in kind(docs, "Job")}
    for cron in kind(docs, "CronJob"):
        found[cron["metadata"]["name"]] = cron["spec"]["jobTemplate"]["spec"]["template"]
    return found


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


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_custom_resource_validates_against_its_operators_schema(overlay: str) -> None:
    """The API versions too: a `kafka.strimzi.io/v1beta2` resource has no schema here, as
    Strimzi 1.x serves none, and fails."""
    for doc in render(overlay):
        if (doc["apiVersion"], doc["kind"]) not in CUSTOM:
            continue
        schema = crd_schema(doc["apiVersion"], doc["kind"])
        assert schema is not None, f"no pinned schema for {doc['apiVersion']} {doc['kind']}"
        jsonschema.Draft7Validator(schema).validate(doc)


def test_a_misspelt_field_is_caught() -> None:
    deployment = kind(render("dev"), "Deployment")[0]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    (topic, *_) = kind(render("dev"), "KafkaTopic")
    misspelt = {**topic, "spec": {**topic["spec"], "partition": 3}}
    schema = crd_schema(topic["apiVersion"], "KafkaTopic")
    assert schema is not None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(misspelt)
    assert crd_schema("kafka.strimzi.io/v1beta2", "KafkaTopic") is None


@pytest.mark.parametrize(("overlay", "replicas"), [("dev", 1), ("prod", 3)])
def test_custom_resources_have_their_shape(overlay: str, replicas: int) -> None:
    docs = render(overlay)
    namespace = "kj-dev" if overlay == "dev" else "kj"
    (kafka,) = kind(docs, "Kafka")
    assert kafka["spec"]["kafka"]["config"]["default.replication.factor"] == replicas
    pools = kind(docs, "KafkaNodePool")
    roles = {r for p in pools for r in p["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    assert all(p["spec"]["replicas"] == replicas for p in pools)
    for doc in [kafka, *pools, *kind(docs, "KafkaTopic")]:
        assert doc["metadata"]["namespace"] == namespace
    for topic in kind(docs, "KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert isinstance(topic["spec"]["partitions"], int) and topic["spec"]["partitions"] > 0
    (pg,) = kind(docs, "Cluster")
    assert pg["spec"]["instances"] == replicas
    assert pg["spec"]["bootstrap"]["initdb"]["database"] == "kuaijing"
    monitors = kind(docs, "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {s.name for s in SERVICES}
    for monitor in monitors:
        assert monitor["spec"]["endpoints"] == [
            {"port": "http", "path": "/metrics", "interval": "15s"}
        ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_postgres_is_backed_up_on_a_schedule(overlay: str) -> None:
    """WAL archived to the ObjectStore the Cluster names, and a daily base backup of that
    Cluster through the same plugin: what the runbook restores from."""
    docs = render(overlay)
    (pg,) = kind(docs, "Cluster")
    stores = {s["metadata"]["name"]: s for s in kind(docs, "ObjectStore")}
    (archiver,) = [p for p in pg["spec"]["plugins"] if p.get("isWALArchiver")]
    store = stores[archiver["parameters"]["barmanObjectName"]]
    assert store["spec"]["configuration"]["destinationPath"].startswith("s3://")
    assert store["spec"]["retentionPolicy"]
    (scheduled,) = kind(docs, "ScheduledBackup")
    assert scheduled["spec"]["cluster"]["name"] == pg["metadata"]["name"]
    assert scheduled["spec"]["method"] == "plugin"
    assert scheduled["spec"]["pluginConfiguration"]["name"] == archiver["name"]
    assert len(scheduled["spec"]["schedule"].split()) == 6  # CloudNativePG: seconds first


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_probe_their_health_endpoints_and_run_unprivileged(overlay: str) -> None:
    docs = render(overlay)
    workloads = _workloads(docs)
    assert set(workloads) == {s.name for s in SERVICES}
    for s in SERVICES:
        pod = workloads[s.name]["spec"]["template"]["spec"]
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


def _secrets_referenced(docs: tuple[dict[str, Any], ...]) -> set[str]:
    names: set[str] = set()
    for d in docs:
        if d["kind"] in (*WORKLOADS, "Job"):
            pod = d["spec"]["template"]["spec"]
            for e in pod["containers"][0]["env"]:
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    names.add(ref["name"])
            for v in pod.get("volumes", []):
                names |= {s["secret"]["name"] for s in v.get("projected", {}).get("sources", [])}
                if "secret" in v:
                    names.add(v["secret"]["secretName"])
        if d["kind"] == "Gateway":
            names |= {
                ref["name"]
                for listener in d["spec"]["listeners"]
                for ref in listener.get("tls", {}).get("certificateRefs", [])
            }
        if d["kind"] == "ObjectStore":
            names |= {c["name"] for c in d["spec"]["configuration"]["s3Credentials"].values()}
    return names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_committed(overlay: str) -> None:
    docs = render(overlay)
    assert kind(docs, "Secret") == []
    assert _secrets_referenced(docs) == {
        "kj-pg-app",
        *INTEGRATION_TOKENS,
        *OPERATOR_TOKENS,
        *DEVICE_TOKENS,
        "kj-public-tls",
        "kj-pg-backup-s3",
        TICKET_SECRET.secret,
        CONSOLE_SESSION_SECRET.secret,
        CONSOLE_ALARM_TOKEN.secret,
        HOTLINE_URL.secret,  # and its signing key: one Secret (decision 0142)
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaling_and_disruption_budgets(overlay: str) -> None:
    docs = render(overlay)
    workloads = _workloads(docs)
    hpas = {
        (h["spec"]["scaleTargetRef"]["kind"], h["spec"]["scaleTargetRef"]["name"])
        for h in kind(docs, "HorizontalPodAutoscaler")
    }
    assert hpas == {(workloads[name]["kind"], name) for name in ("kj-patrol-tracking", "kj-notify")}
    assert {p["metadata"]["name"] for p in kind(docs, "PodDisruptionBudget")} == {
        s.name for s in SERVICES
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tracking_keeps_its_consumer_group_across_rollouts(overlay: str) -> None:
    """Each tracking state process reads the work orders in a consumer group named after its
    instance. In a Deployment the pod name (the host name) is new at every rollout, so every
    rollout left one orphan group per pod; a StatefulSet's pods keep `<name>-<ordinal>`."""
    (tracking,) = [
        w
        for w in _workloads(render(overlay)).values()
        if w["metadata"]["name"] == "kj-patrol-tracking"
    ]
    assert tracking["kind"] == "StatefulSet"
    env = {e["name"]: e for e in tracking["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["KJ_TRACKING_INSTANCE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for rule in selector.get("matchExpressions", []):
        assert rule["operator"] == "In"
        if labels.get(rule["key"]) not in rule["values"]:
            return False
    return True


def test_network_policies_let_each_service_reach_only_what_it_needs() -> None:
    docs = render("prod")
    policies = {p["metadata"]["name"]: p["spec"] for p in kind(docs, "NetworkPolicy")}
    deny = policies["kj-default-deny"]
    assert "ingress" not in deny and "egress" not in deny
    (gateway,) = kind(docs, "Gateway")
    proxy = {"gateway.networking.k8s.io/gateway-name": gateway["metadata"]["name"]}
    by_name = {s.name: s for s in SERVICES}
    for s in SERVICES:
        spec = policies[s.name]
        ports = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
        called = {by_name[name].port for name in s.calls}
        expected = {53, 9092, 5432} | ({443} if s.calls_out else set()) | called
        assert ports == expected, s.name
        # a call inside the cluster goes to that service's pods only, and they let it in
        for name in s.calls:
            port = by_name[name].port
            (rule,) = [r for r in spec["egress"] if {p["port"] for p in r["ports"]} == {port}]
            callee = {"app.kubernetes.io/name": name}
            assert rule["to"] == [{"podSelector": {"matchLabels": callee}}]
            caller = {"app.kubernetes.io/name": s.name}
            assert any(
                "podSelector" in peer and _selects(peer["podSelector"], caller)
                for r in policies[name]["ingress"]
                for peer in r["from"]
            ), (s.name, name)
        peers = [peer for rule in spec["ingress"] for peer in rule["from"]]
        named = {
            p["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name")
            for p in peers
            if "namespaceSelector" in p
        }
        # Prometheus by its namespace; no ingress controller's namespace is pinned
        assert named - {None} == {"monitoring"}, s.name
        from_gateway = any("podSelector" in p and _selects(p["podSelector"], proxy) for p in peers)
        assert from_gateway == s.public, s.name
        tcp = {t.port for t in s.tcp}
        assert {p["port"] for r in spec["ingress"] for p in r["ports"]} == {s.port} | tcp
        # only a device port is open to the world (terminals on mobile networks)
        for rule in spec["ingress"]:
            if any("ipBlock" in peer for peer in rule["from"]):
                assert {p["port"] for p in rule["ports"]} <= tcp, s.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_public_services_are_routed_through_the_gateway_with_tls(overlay: str) -> None:
    docs = render(overlay)
    (gateway,) = kind(docs, "Gateway")
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert all(lst["protocol"] == "HTTPS" and lst["port"] == 443 for lst in listeners.values())
    routes = {r["metadata"]["name"]: r["spec"] for r in kind(docs, "HTTPRoute")}
    assert set(routes) == {s.name for s in SERVICES if s.public}
    for s in SERVICES:
        if not s.public:
            continue
        route = routes[s.name]
        (parent,) = route["parentRefs"]
        listener = listeners[parent["sectionName"]]
        assert parent["name"] == gateway["metadata"]["name"]
        assert listener["tls"]["mode"] == "Terminate" and listener["tls"]["certificateRefs"]
        assert route["hostnames"] == [listener["hostname"]]
        own, *forwarded = route["rules"]
        assert own["backendRefs"] == [{"name": s.name, "port": s.port}]
        assert [m["path"] for m in own["matches"]] == [
            *({"type": "Exact", "value": path} for path in s.exact_paths),
            *({"type": "PathPrefix", "value": path} for path in s.paths),
        ]
        by_name = {other.name: other for other in SERVICES}
        for rule in forwarded:  # another public service's API on this host
            ((ref,), (match,)) = rule["backendRefs"], rule["matches"]
            assert by_name[ref["name"]].public and ref["port"] == by_name[ref["name"]].port
            assert match["path"]["value"].startswith("/v1/")
        # /metrics, /docs and the probes stay inside the cluster
        matches = [m["path"] for rule in route["rules"] for m in rule["matches"]]
        for inside in ("/metrics", "/docs", "/openapi.json", "/healthz", "/readyz"):
            assert not any(
                inside == m["value"] if m["type"] == "Exact" else inside.startswith(m["value"])
                for m in matches
            ), (s.name, inside)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_alert_rules_and_dashboards_are_provisioned_by_the_cluster(overlay: str) -> None:
    docs = render(overlay)
    (rule,) = kind(docs, "PrometheusRule")
    rule_file = yaml.safe_load((REPO / "deploy/prometheus/rules.yml").read_text())
    assert rule["spec"] == rule_file  # the very rules promtool tests
    boards = {
        key: text
        for cm in kind(docs, "ConfigMap")
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
        for key, text in cm["data"].items()
    }
    committed = {p.name: p.read_text() for p in (REPO / "deploy/grafana").glob("*.json")}
    assert boards == committed


STANDARD = ("name", "instance", "version", "component", "part-of", "managed-by")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_resources_carry_the_standard_labels(overlay: str) -> None:
    docs = render(overlay)
    for d in docs:
        labels = d["metadata"].get("labels", {})
        for key in ("part-of", "managed-by", "instance"):
            assert f"app.kubernetes.io/{key}" in labels, (d["kind"], d["metadata"]["name"], key)
    owners = {d["metadata"]["name"]: d for d in docs}
    for name, template in _pod_templates(docs).items():
        for labels in (owners[name]["metadata"]["labels"], template["metadata"]["labels"]):
            missing = [k for k in STANDARD if f"app.kubernetes.io/{k}" not in labels]
            assert not missing, (name, missing)
        version = template["metadata"]["labels"]["app.kubernetes.io/version"]
        image = template["spec"]["containers"][0]["image"]
        assert image.rpartition(":")[2] == version, (name, image, version)


def test_default_deny_covers_our_pods_and_leaves_kafka_alone() -> None:
    """Strimzi copies the Kafka resource's labels (part-of included) onto its broker pods: the
    platform's default deny must not cut the brokers' own traffic."""
    docs = render("prod")
    deny = next(
        p for p in kind(docs, "NetworkPolicy") if p["metadata"]["name"] == "kj-default-deny"
    )
    (kafka,) = kind(docs, "Kafka")
    broker_pod = {**kafka["metadata"]["labels"], "strimzi.io/cluster": "kj"}
    assert not _selects(deny["spec"]["podSelector"], broker_pod)
    for name, template in _pod_templates(docs).items():
        pod_labels = template["metadata"]["labels"]
        assert _selects(deny["spec"]["podSelector"], pod_labels), name
        peers = kafka["spec"]["kafka"]["listeners"][0]["networkPolicyPeers"]
        assert _selects(peers[0]["podSelector"], pod_labels)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_808_terminals_and_the_officer_app_reach_the_device_gateway(overlay: str) -> None:
    """Vehicle terminals connect over TCP through a load balancer to the port the gateway
    listens on; the officer app's page and notify's socket share one public host (the app's
    `KJ_DEVICES_NOTIFY_WS_URL` is a path there), and both services hold the ticket secret."""
    docs = render(overlay)
    (devices,) = [s for s in SERVICES if s.tcp]
    workloads = _workloads(docs)
    (container,) = workloads[devices.name]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    services = {x["metadata"]["name"]: x["spec"] for x in kind(docs, "Service")}
    for t in devices.tcp:
        balancer = services[f"{devices.name}-{t.name}"]
        assert balancer["type"] == "LoadBalancer"
        (port,) = balancer["ports"]
        assert ports[port["targetPort"]] == int(env[t.port_env]["value"]) == t.port
        assert env[t.host_env]["value"] == "0.0.0.0"
    route = next(
        r["spec"] for r in kind(docs, "HTTPRoute") if r["metadata"]["name"] == devices.name
    )
    socket = env["KJ_DEVICES_NOTIFY_WS_URL"]["value"]
    (to_notify,) = [
        rule
        for rule in route["rules"]
        if any(socket.startswith(m["path"]["value"]) for m in rule["matches"])
        and rule["backendRefs"][0]["name"] == "kj-notify"
    ]
    assert to_notify["backendRefs"] == [{"name": "kj-notify", "port": 8040}]
    for name in (devices.name, "kj-notify"):
        (c,) = workloads[name]["spec"]["template"]["spec"]["containers"]
        secret = {e["name"]: e for e in c["env"]}[TICKET_SECRET.env]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": TICKET_SECRET.secret, "key": TICKET_SECRET.key}
