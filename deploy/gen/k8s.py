"""Kubernetes manifests for the base: one file per service (Deployment or StatefulSet, Service,
PDB, HPA, ServiceMonitor, NetworkPolicy), the schema migration Job and the namespace-wide
policies."""

from typing import Any

from deploy.gen.services import (
    CREDENTIAL_KEY,
    GATEWAY,
    GATEWAY_NAMESPACE_LABEL,
    KAFKA_CLUSTER,
    PG_CLUSTER,
    PG_DATABASE,
    SERVICES,
    Credentials,
    Service,
    TcpPort,
)

PART_OF = {"app.kubernetes.io/part-of": "kuaijing"}
# standard labels every resource carries; the overlays add app.kubernetes.io/instance and
# app.kubernetes.io/version (kustomize `labels`), which depend on where and what is released
MANAGED_BY = {"app.kubernetes.io/managed-by": "kustomize"}
UID = 10001
CITY_MOUNT = "/etc/kj/city"
PG_SECRET = f"{PG_CLUSTER}-app"  # created by CloudNativePG for the application owner
MONITORING_NS = "monitoring"
# our own pods only: Strimzi copies the Kafka resource's labels (part-of too) onto the brokers,
# which must not fall under our default deny
APP_PODS = {
    "matchLabels": dict(PART_OF),
    "matchExpressions": [
        {
            "key": "app.kubernetes.io/component",
            "operator": "In",
            "values": ["service", "migration", "maintenance"],
        }
    ],
}
GATEWAY_POD = {"gateway.networking.k8s.io/gateway-name": GATEWAY}


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        **PART_OF,
        **MANAGED_BY,
    }


def _selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def _secret_env(var: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _pg_env() -> list[dict[str, Any]]:
    return [
        {"name": "KJ_PG_HOST", "value": f"{PG_CLUSTER}-rw"},
        {"name": "KJ_PG_PORT", "value": "5432"},
        {"name": "KJ_PG_DATABASE", "value": PG_DATABASE},
        _secret_env("KJ_PG_USER", PG_SECRET, "username"),
        _secret_env("KJ_PG_PASSWORD", PG_SECRET, "password"),
    ]


def _security() -> tuple[dict[str, Any], dict[str, Any]]:
    pod = {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    return pod, container


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _credential_volume(c: Credentials) -> dict[str, Any]:
    """The credential Secrets projected into one directory, each as `<secret>.json`; only the
    first must exist (the others are shards a province adds)."""
    sources = [
        {
            "secret": {
                "name": secret,
                "items": [{"key": CREDENTIAL_KEY, "path": f"{secret}.json"}],
                "optional": i > 0,
            }
        }
        for i, secret in enumerate(c.secrets)
    ]
    return {"name": c.volume, "projected": {"sources": sources, "defaultMode": 0o440}}


def workload(s: Service) -> dict[str, Any]:
    pod_security, container_security = _security()
    env = [
        {"name": f"{s.env_prefix}HTTP_HOST", "value": "0.0.0.0"},  # noqa: S104 - in a pod
        {"name": f"{s.env_prefix}HTTP_PORT", "value": str(s.port)},
        {"name": f"{s.env_prefix}LOG_JSON", "value": "true"},
        {"name": "KJ_KAFKA_BOOTSTRAP_SERVERS", "value": f"{KAFKA_CLUSTER}-kafka-bootstrap:9092"},
        {"name": "KJ_CITY_DIR", "value": CITY_MOUNT},
        *_pg_env(),
        *({"name": c.env, "value": c.mount} for c in s.credentials),
        *(_secret_env(v.env, v.secret, v.key) for v in s.secret_values),
        *({"name": name, "value": value} for name, value in s.env),
    ]
    for t in s.tcp:
        env.append({"name": t.host_env, "value": "0.0.0.0"})  # noqa: S104 - in a pod
        env.append({"name": t.port_env, "value": str(t.port)})
    pod_name = {"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    if s.stateful:  # the pod's own, stable name: `kj-patrol-tracking-0` after every rollout
        env.append({"name": f"{s.env_prefix}INSTANCE", **pod_name})
    container = {
        "name": s.short,
        "image": f"kj/{s.short}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": "http", "containerPort": s.port, "protocol": "TCP"},
            *({"name": t.name, "containerPort": t.port, "protocol": "TCP"} for t in s.tcp),
        ],
        "envFrom": [{"configMapRef": {"name": "kj-platform"}}],
        "env": env,
        "startupProbe": _probe("/healthz", 2, 30),
        "livenessProbe": _probe("/healthz", 10, 3),
        "readinessProbe": _probe("/readyz", 5, 2),
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": container_security,
        "volumeMounts": [
            {"name": "city", "mountPath": CITY_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir
            *({"name": c.volume, "mountPath": c.mount, "readOnly": True} for c in s.credentials),
        ],
    }
    volumes: list[dict[str, Any]] = [
        {"name": "city", "configMap": {"name": "kj-city"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        *(_credential_volume(c) for c in s.credentials),
    ]
    if s.stateful:
        # a StatefulSet replaces its pods one by one under their own names; Parallel lets the
        # HPA add or remove several at once (they share no storage)
        kind_spec: dict[str, Any] = {
            "serviceName": s.name,
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
        }
    else:
        kind_spec = {
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            }
        }
    return {
        "apiVersion": "apps/v1",
        "kind": workload_kind(s),
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {
            **({} if s.autoscale else {"replicas": 2}),  # the HPA owns the count when it scales
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": _selector(s.name)},
            **kind_spec,
            "template": {
                "metadata": {"labels": labels(s.name, "service")},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": pod_security,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": _selector(s.name)},
                        }
                    ],
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def workload_kind(s: Service) -> str:
    return "StatefulSet" if s.stateful else "Deployment"


def service(s: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {
            "selector": _selector(s.name),
            "ports": [{"name": "http", "port": s.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def tcp_service(s: Service, t: TcpPort) -> dict[str, Any]:
    """Devices outside the cluster reach a TCP port through a load balancer of its own; `Local`
    keeps each terminal's own address (counted and logged per connection) and spares a hop."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{s.name}-{t.name}", "labels": labels(s.name, "service")},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": _selector(s.name),
            "ports": [{"name": t.name, "port": t.port, "targetPort": t.name, "protocol": "TCP"}],
        },
    }


def pdb(s: Service) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _selector(s.name)}},
    }


def hpa(s: Service) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": workload_kind(s), "name": s.name},
            "minReplicas": 2,
            "maxReplicas": s.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def service_monitor(s: Service) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {
            "selector": {"matchLabels": _selector(s.name)},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
        },
    }


def _ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


DNS_EGRESS = {
    "to": [
        {
            **_ns("kube-system"),
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
KAFKA_EGRESS = {
    "to": [
        {
            "podSelector": {
                "matchLabels": {
                    "strimzi.io/cluster": KAFKA_CLUSTER,
                    "strimzi.io/broker-role": "true",
                }
            }
        }
    ],
    "ports": [{"protocol": "TCP", "port": 9092}],
}
PG_EGRESS = {
    "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": PG_CLUSTER}}}],
    "ports": [{"protocol": "TCP", "port": 5432}],
}
# outside the cluster only, HTTPS only: the 110 centre's status callbacks
INTERNET_HTTPS_EGRESS = {
    "to": [
        {
            "ipBlock": {
                "cidr": "0.0.0.0/0",
                "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
            }
        }
    ],
    "ports": [{"protocol": "TCP", "port": 443}],
}


def network_policy(s: Service) -> dict[str, Any]:
    sources: list[dict[str, Any]] = [_ns(MONITORING_NS)]
    if s.public:
        # the Gateway's proxies: in this namespace (implementations that deploy one per Gateway
        # label its pods with the Gateway's name), or in a namespace that ops label as theirs;
        # no controller's namespace is named here
        sources.append({"podSelector": {"matchLabels": dict(GATEWAY_POD)}})
        sources.append({"namespaceSelector": {"matchLabels": {GATEWAY_NAMESPACE_LABEL: "true"}}})
    ingress: list[dict[str, Any]] = [
        {"from": sources, "ports": [{"protocol": "TCP", "port": s.port}]},
    ]
    callers = [o for o in SERVICES if s.name in o.calls]
    if callers:  # services in the cluster that call this one's API
        ingress.append(
            {
                "from": [{"podSelector": {"matchLabels": _selector(o.name)}} for o in callers],
                "ports": [{"protocol": "TCP", "port": s.port}],
            }
        )
    if s.tcp:  # devices on mobile networks, through the load balancer: from anywhere
        ingress.append(
            {
                "from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                "ports": [{"protocol": "TCP", "port": t.port} for t in s.tcp],
            }
        )
    egress = [DNS_EGRESS, KAFKA_EGRESS, PG_EGRESS]
    by_name = {o.name: o for o in SERVICES}
    for callee in (by_name[name] for name in s.calls):
        egress.append(
            {
                "to": [{"podSelector": {"matchLabels": _selector(callee.name)}}],
                "ports": [{"protocol": "TCP", "port": callee.port}],
            }
        )
    if s.calls_out:
        egress.append(INTERNET_HTTPS_EGRESS)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {
            "podSelector": {"matchLabels": _selector(s.name)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def service_manifests(s: Service) -> list[dict[str, Any]]:
    docs = [workload(s), service(s), *(tcp_service(s, t) for t in s.tcp), pdb(s)]
    if s.autoscale:
        docs.append(hpa(s))
    docs += [service_monitor(s), network_policy(s)]
    return docs


def migrate_job() -> list[dict[str, Any]]:
    """Applies pending migrations (yoyo, transactional and locked) and loads the city. Runs on
    every `kubectl apply`; the services start serving once it is done (their /readyz)."""
    pod_security, container_security = _security()
    name = "kj-migrate"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels(name, "migration")},
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels(name, "migration")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security,
                    "containers": [
                        {
                            "name": "migrate",
                            "image": "kj/migrate",
                            "command": ["/bin/sh", "-c", "kj-infra migrate && kj-infra seed"],
                            "env": [
                                {"name": "KJ_CITY_DIR", "value": CITY_MOUNT},
                                *_pg_env(),
                            ],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                            "securityContext": container_security,
                            "volumeMounts": [
                                {"name": "city", "mountPath": CITY_MOUNT, "readOnly": True}
                            ],
                        }
                    ],
                    "volumes": [{"name": "city", "configMap": {"name": "kj-city"}}],
                },
            },
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels(name, "migration")},
        "spec": {
            "podSelector": {"matchLabels": _selector(name)},
            "policyTypes": ["Ingress", "Egress"],
            "egress": [DNS_EGRESS, PG_EGRESS],
        },
    }
    return [job, policy]


def prune_job() -> list[dict[str, Any]]:
    """Every night, delete the mechanics rows past their retention (`kj-infra prune`,
    kj_runtime.retention; KJ_RETENTION_* settings)."""
    pod_security, container_security = _security()
    name = "kj-prune"
    pod = {
        "metadata": {"labels": labels(name, "maintenance")},
        "spec": {
            "restartPolicy": "OnFailure",
            "automountServiceAccountToken": False,
            "securityContext": pod_security,
            "containers": [
                {
                    "name": "prune",
                    "image": "kj/migrate",
                    "command": ["kj-infra", "prune"],
                    "env": _pg_env(),
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "128Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                    "securityContext": container_security,
                }
            ],
        },
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "labels": labels(name, "maintenance")},
        "spec": {
            "schedule": "30 3 * * *",  # after the 02:00 backup, at the quietest hour
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 3, "template": pod}},
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels(name, "maintenance")},
        "spec": {
            "podSelector": {"matchLabels": _selector(name)},
            "policyTypes": ["Ingress", "Egress"],
            "egress": [DNS_EGRESS, PG_EGRESS],
        },
    }
    return [job, policy]


def namespace_policies() -> list[dict[str, Any]]:
    """Deny everything to and from our own pods unless a policy above allows it, and let only
    our pods, the CloudNativePG operator and the cluster's own instances reach PostgreSQL.
    Strimzi writes the Kafka pods' policies itself from the listener's networkPolicyPeers."""
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "kj-default-deny", "labels": {**PART_OF, **MANAGED_BY}},
        "spec": {
            "podSelector": APP_PODS,
            "policyTypes": ["Ingress", "Egress"],
        },
    }
    pg = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{PG_CLUSTER}-clients", "labels": {**PART_OF, **MANAGED_BY}},
        "spec": {
            "podSelector": {"matchLabels": {"cnpg.io/cluster": PG_CLUSTER}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": APP_PODS},
                        {"podSelector": {"matchLabels": {"cnpg.io/cluster": PG_CLUSTER}}},
                    ],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                },
                # the operator's status and the instance manager; metrics for Prometheus
                {"from": [_ns("cnpg-system")], "ports": [{"protocol": "TCP", "port": 8000}]},
                {"from": [_ns(MONITORING_NS)], "ports": [{"protocol": "TCP", "port": 9187}]},
            ],
        },
    }
    return [deny, pg]


def base_files() -> dict[str, list[dict[str, Any]]]:
    files = {f"{s.short}.yaml": service_manifests(s) for s in SERVICES}
    files["migrate.yaml"] = migrate_job()
    files["prune.yaml"] = prune_job()
    files["network-policies.yaml"] = namespace_policies()
    return files
