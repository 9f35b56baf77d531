"""The public services behind a Gateway API Gateway: TLS ends at its HTTPS listeners (one host
name each), and an HTTPRoute per public service sends `/v1/` there and nothing else (metrics,
health and the OpenAPI pages stay inside the cluster)."""

from typing import Any

from deploy.gen.k8s import MANAGED_BY, PART_OF, labels
from deploy.gen.services import GATEWAY, PUBLIC_TLS_SECRET, SERVICES, Service

# the cluster's GatewayClass for traffic from outside: set yours (`kubectl get gatewayclass`)
GATEWAY_CLASS = "external"


def _listener(s: Service) -> str:
    return f"https-{s.host}"


def gateway(domain: str) -> dict[str, Any]:
    listeners = [
        {
            "name": _listener(s),
            "hostname": f"{s.host}.{domain}",
            "port": 443,
            "protocol": "HTTPS",
            "tls": {"mode": "Terminate", "certificateRefs": [{"name": PUBLIC_TLS_SECRET}]},
            "allowedRoutes": {"namespaces": {"from": "Same"}},
        }
        for s in SERVICES
        if s.public
    ]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY, "labels": {**PART_OF, **MANAGED_BY}},
        "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": listeners},
    }


def route(s: Service, domain: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {
            "parentRefs": [{"name": GATEWAY, "sectionName": _listener(s)}],
            "hostnames": [f"{s.host}.{domain}"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v1/"}}],
                    "backendRefs": [{"name": s.name, "port": s.port}],
                }
            ],
        },
    }


def public_routes(domain: str) -> list[dict[str, Any]]:
    return [gateway(domain), *(route(s, domain) for s in SERVICES if s.public)]
