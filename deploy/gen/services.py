"""The four services as deployment sees them: one table that every generated file reads."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str  # Kubernetes name, Prometheus job and console script (`kj-alarm`)
    dist: str  # workspace package, for `uv sync --package`
    src: str  # folder of the package in the workspace
    env_prefix: str  # `KJ_ALARM_`
    port: int
    public: bool  # reached from outside the cluster through the ingress controller
    calls_out: bool  # makes HTTPS calls outside the cluster (status callbacks)
    autoscale: bool  # HorizontalPodAutoscaler (tracking and notify carry the per-unit load)
    max_replicas: int = 1  # HPA ceiling: the partition count of the busiest topic it consumes
    secrets: tuple[tuple[str, str, str], ...] = ()  # (env var, Secret name, key)

    @property
    def short(self) -> str:
        return self.name.removeprefix("kj-")


SERVICES: tuple[Service, ...] = (
    Service(
        "kj-alarm",
        "kj-alarm",
        "services/alarm",
        "KJ_ALARM_",
        8010,
        public=True,
        calls_out=False,
        autoscale=False,
        secrets=(("KJ_ALARM_INTEGRATIONS", "kj-alarm-integrations", "integrations"),),
    ),
    Service(
        "kj-patrol-tracking",
        "kj-patrol-tracking",
        "services/patrol-tracking",
        "KJ_TRACKING_",
        8020,
        public=False,
        calls_out=False,
        autoscale=True,
        max_replicas=12,  # patrol.pings has 12 partitions: more consumers would sit idle
    ),
    Service(
        "kj-dispatch",
        "kj-dispatch",
        "services/dispatch",
        "KJ_DISPATCH_",
        8030,
        public=False,
        calls_out=False,
        autoscale=False,
    ),
    Service(
        "kj-notify",
        "kj-notify",
        "services/notify",
        "KJ_NOTIFY_",
        8040,
        public=True,
        calls_out=True,
        autoscale=True,
        max_replicas=12,  # dispatch.workorders has 12 partitions
        secrets=(("KJ_NOTIFY_DEVICE_TOKENS", "kj-notify-device-tokens", "tokens"),),
    ),
)

WORKSPACE_MEMBERS = ("schemas", "runtime", *(s.src for s in SERVICES), "sim")

KAFKA_CLUSTER = "kj"  # Strimzi cluster: bootstrap Service `kj-kafka-bootstrap`
PG_CLUSTER = "kj-pg"  # CloudNativePG cluster: Services `kj-pg-rw`, Secret `kj-pg-app`
PG_DATABASE = "kuaijing"
