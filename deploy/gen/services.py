"""The services as deployment sees them: one table that every generated file reads."""

from dataclasses import dataclass

CREDENTIALS_DIR = "/etc/kj/credentials"
CREDENTIAL_KEY = "tokens.json"  # the one key of every credential Secret: a JSON {name: sha256}


@dataclass(frozen=True)
class Credentials:
    """A table of token hashes that a settings field reads from files (decision 0051): the
    Secrets named here are projected into one directory, each as its own JSON file. The first
    Secret must exist; the others are optional shards (a Secret holds at most 1 MiB, about
    12,000 units)."""

    env: str  # the settings field's `_FILE` variable
    volume: str
    secrets: tuple[str, ...]

    @property
    def mount(self) -> str:
        return f"{CREDENTIALS_DIR}/{self.volume}"


INTEGRATION_TOKENS = ("kj-integration-tokens",)  # a 110 centre's API token: alarm and notify
# who may read units' positions and tracks from patrol tracking until the console's sessions
# exist (decision 0072)
OPERATOR_TOKENS = ("kj-operator-tokens",)
DEVICE_TOKENS = tuple(f"kj-device-tokens-{i}" for i in range(1, 9))  # 8 × ~12,000 units


@dataclass(frozen=True)
class SecretValue:
    """A setting read from one key of a Secret (`valueFrom.secretKeyRef`)."""

    env: str
    secret: str
    key: str


# the officer app's WebSocket tickets: kj-devices signs them, kj-notify checks them (0092)
TICKET_SECRET = SecretValue("KJ_TERMINAL_TICKET_SECRET", "kj-terminal-ticket", "secret")
# the console's session cookies are signed with one key every replica shares; its bearer token
# for alarm intake's API (unmerging a call) is one of the integration tokens alarm checks
CONSOLE_SESSION_SECRET = SecretValue("KJ_CONSOLE_SESSION_SECRET", "kj-console-session", "secret")
CONSOLE_ALARM_TOKEN = SecretValue("KJ_CONSOLE_ALARM_TOKEN", "kj-console-alarm-token", "token")
# the 12345 hand-off (decisions 0116, 0142): where notify posts diverted calls and the key it
# signs them with, both from one Secret the operator writes for the province's hotline
HOTLINE_URL = SecretValue("KJ_NOTIFY_HOTLINE_URL", "kj-hotline", "url")
HOTLINE_SIGNING_SECRET = SecretValue(
    "KJ_NOTIFY_HOTLINE_SIGNING_SECRET", "kj-hotline", "signing-secret"
)


@dataclass(frozen=True)
class TcpPort:
    """A port that is not HTTP, reached from outside the cluster through a LoadBalancer Service
    of its own (`<service>-<name>`): the 808 vehicle terminals' TCP."""

    name: str
    port: int
    host_env: str  # where the program listens (0.0.0.0 in a pod)
    port_env: str


@dataclass(frozen=True)
class Forward:
    """A path on a public service's host name that the Gateway sends to another service: the
    officer app reaches notify's socket on the app's own host (one origin, one certificate)."""

    path: str
    to: str  # the Kubernetes name of the other service


@dataclass(frozen=True)
class Service:
    name: str  # Kubernetes name, Prometheus job and console script (`kj-alarm`)
    dist: str  # workspace package, for `uv sync --package`
    src: str  # folder of the package in the workspace
    env_prefix: str  # `KJ_ALARM_`
    port: int
    public: bool  # reached from outside the cluster through the Gateway (HTTPRoute, TLS)
    calls_out: bool  # makes HTTPS calls outside the cluster (status callbacks)
    autoscale: bool  # HorizontalPodAutoscaler (tracking and notify carry the per-unit load)
    max_replicas: int = 1  # HPA ceiling: the partition count of the busiest topic it consumes
    credentials: tuple[Credentials, ...] = ()
    # StatefulSet: pods keep their names across rollouts (tracking's per-pod consumer group,
    # dispatch's lease owner and per-replica event group, decision 0032)
    stateful: bool = False
    host: str = ""  # public host name's first label (`alarm` → alarm.<the overlay's domain>)
    # what the Gateway routes to it on that host (PathPrefix, and Exact for `exact_paths`), and
    # to others on its host
    paths: tuple[str, ...] = ("/v1/",)
    exact_paths: tuple[str, ...] = ()
    forwards: tuple[Forward, ...] = ()
    tcp: tuple[TcpPort, ...] = ()
    # services in the cluster it calls over HTTP on their port (Kubernetes names): its policy
    # lets it out to them and theirs lets it in
    calls: tuple[str, ...] = ()
    secret_values: tuple[SecretValue, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # fixed settings of this service in every cluster
    # front-end code from npm: the folder with package-lock.json and vendor.sh, and where the
    # image puts what vendor.sh copies
    web: str = ""
    vendor: str = ""

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
        credentials=(
            Credentials("KJ_ALARM_INTEGRATIONS_FILE", "integration-tokens", INTEGRATION_TOKENS),
        ),
        host="alarm",
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
        credentials=(
            Credentials(
                "KJ_TRACKING_OPERATOR_TOKEN_SHA256_FILE", "operator-tokens", OPERATOR_TOKENS
            ),
        ),
        stateful=True,
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
        stateful=True,
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
        credentials=(
            Credentials("KJ_NOTIFY_DEVICE_TOKEN_SHA256_FILE", "device-tokens", DEVICE_TOKENS),
            Credentials(
                "KJ_NOTIFY_INTEGRATION_TOKEN_SHA256_FILE", "integration-tokens", INTEGRATION_TOKENS
            ),
        ),
        host="terminals",
        secret_values=(TICKET_SECRET, HOTLINE_URL, HOTLINE_SIGNING_SECRET),
    ),
    Service(
        "kj-devices",
        "kj-devices",
        "services/devices",
        "KJ_DEVICES_",
        8050,
        public=True,  # phones' positions, the officer app
        calls_out=False,
        autoscale=False,  # terminals hold their TCP connections: no scaling on CPU
        # each pod reads every work order in a consumer group named after itself (text
        # dispatch to the 808-only vehicles connected to it)
        stateful=True,
        host="devices",
        paths=("/v1/", "/app", "/osmand"),
        forwards=(Forward("/v1/terminals/", "kj-notify"),),
        tcp=(TcpPort("jt808", 8808, "KJ_DEVICES_JT808_HOST", "KJ_DEVICES_JT808_PORT"),),
        secret_values=(TICKET_SECRET,),
        env=(("KJ_DEVICES_NOTIFY_WS_URL", "/v1/terminals/ws"),),
        web="services/devices/web",
        vendor="services/devices/src/kj_devices/static/vendor",
    ),
    Service(
        "kj-console",
        "kj-console",
        "services/console",
        "KJ_CONSOLE_",
        8060,
        public=True,  # the command centre's browsers
        calls_out=False,
        # every replica keeps the whole live view (no consumer group); browsers hold their
        # sockets, so CPU is a poor signal to scale on
        autoscale=False,
        host="console",
        # the page, its files, its API and its socket; /metrics, /docs and the probes stay inside
        paths=("/static/", "/api/", "/ws"),
        exact_paths=("/",),
        calls=("kj-alarm",),  # unmerging a call goes through alarm intake's API
        secret_values=(CONSOLE_SESSION_SECRET, CONSOLE_ALARM_TOKEN),
        env=(
            ("KJ_CONSOLE_COOKIE_SECURE", "true"),  # the Gateway ends TLS: cookies over HTTPS only
            ("KJ_CONSOLE_ALARM_URL", "http://kj-alarm:8010"),
        ),
        web="services/console/web",
        vendor="services/console/src/kj_console/static/vendor",
    ),
)

WORKSPACE_MEMBERS = ("schemas", "runtime", *(s.src for s in SERVICES), "sim")

KAFKA_CLUSTER = "kj"  # Strimzi cluster: bootstrap Service `kj-kafka-bootstrap`
PG_CLUSTER = "kj-pg"  # CloudNativePG cluster: Services `kj-pg-rw`, Secret `kj-pg-app`
PG_DATABASE = "kuaijing"
GATEWAY = "kj-public"  # the Gateway of the public services, in the platform's namespace
PUBLIC_TLS_SECRET = "kj-public-tls"  # noqa: S105 - a Secret's name: the Gateway's certificate
# namespaces where a Gateway implementation runs its proxies outside ours carry this label
GATEWAY_NAMESPACE_LABEL = "kuaijing.io/gateway-dataplane"
