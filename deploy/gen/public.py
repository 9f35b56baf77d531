"""The public services behind a Gateway API Gateway: TLS ends at its HTTPS listeners (one host
name each), and an HTTPRoute per public service sends its public paths there (`/v1/`; the
device gateway's also `/app` and `/osmand`, and notify's socket on the same host; the console's
page `/` exactly, `/static/`, `/api/` and its socket `/ws`) and nothing else (metrics, health and
the OpenAPI pages stay inside the cluster)."""

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


def _rule(paths: tuple[str, ...], to: Service, exact: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "matches": [
            *({"path": {"type": "Exact", "value": p}} for p in exact),
            *({"path": {"type": "PathPrefix", "value": p}} for p in paths),
        ],
        "backendRefs": [{"name": to.name, "port": to.port}],
    }


def route(s: Service, domain: str) -> dict[str, Any]:
    """The service's own paths on its host, and the paths it forwards to another service (the
    Gateway takes the longest matching prefix)."""
    by_name = {other.name: other for other in SERVICES}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": s.name, "labels": labels(s.name, "service")},
        "spec": {
            "parentRefs": [{"name": GATEWAY, "sectionName": _listener(s)}],
            "hostnames": [f"{s.host}.{domain}"],
            "rules": [
                _rule(s.paths, s, s.exact_paths),
                *(_rule((f.path,), by_name[f.to]) for f in s.forwards),
            ],
        },
    }


def public_routes(domain: str) -> list[dict[str, Any]]:
    return [gateway(domain), *(route(s, domain) for s in SERVICES if s.public)]
