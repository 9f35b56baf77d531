"""Typed settings. Each service subclasses `ServiceSettings` with its own env prefix
(`KJ_ALARM_`, `KJ_DISPATCH_`...); the infrastructure settings are shared (`KJ_KAFKA_`, `KJ_PG_`)."""

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]


def state_dir() -> Path:
    """Where local runs write everything: `KJ_STATE_DIR`, by default the checkout's `.local/`."""
    return Path(os.environ.get("KJ_STATE_DIR") or REPO_ROOT / ".local")


def run_dir(kind: str) -> Path:
    """A new folder for one run's logs and results: `<state>/<kind>/<UTC time>/`, and
    `<state>/<kind>/latest` pointing at it."""
    parent = state_dir() / kind
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run, n = parent / stamp, 1
    while True:
        try:
            run.mkdir()
            break
        except FileExistsError:  # two runs in one second
            n += 1
            run = parent / f"{stamp}-{n}"
    latest = parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run.name)
    return run


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_KAFKA_", extra="ignore")

    host: str = "127.0.0.1"  # the broker (with port) when bootstrap_servers is not set
    port: int = 19092  # not 9092: never collide with a system Kafka
    bootstrap_servers: str | None = None  # overrides host:port, e.g. "k1:9092,k2:9092"
    topic_prefix: str = ""  # lets a test run use its own topics on a shared broker
    replication_factor: int = 1  # 3 in production (deploy/k8s)
    # static group membership (KIP-345, decision 0100): this process's stable name in the
    # consumer groups it joins (in Kubernetes the pod's name, which a container restart keeps).
    # Restarted under the same name, a process takes its partitions back at once instead of
    # waiting out the dead one's session timeout; a clean stop still leaves at once. Never
    # the same name for two live processes of one group (the broker fences the older one).
    # None: dynamic membership.
    group_instance: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"{self.host}:{self.port}"

    def topic(self, name: str) -> str:
        """A topic's name in this deployment (the one helper for it: no `prefix + name`)."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """A consumer group's name in this deployment: a test run or a benchmark on a shared
        broker gets groups of its own with its topics, and never rebalances another's."""
        return f"{self.topic_prefix}{name}"


class PostgresSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_PG_", extra="ignore")

    host: str = "127.0.0.1"  # the PostgreSQL server
    port: int = 15432  # not 5432: never collide with a system PostgreSQL
    user: str = "postgres"  # the role the services connect as
    password: SecretStr | None = None  # masked when printed; none: trust or peer auth
    database: str = "kuaijing"  # one database for every service (decision 0003)
    pool_min: int = 1  # connections each process keeps open
    pool_max: int = 10  # connections each process opens at most

    def dsn(self, *, scheme: str = "postgresql") -> str:
        """The connection string, password included: pass it to a driver, never log it."""
        secret = f":{self.password.get_secret_value()}" if self.password else ""
        return f"{scheme}://{self.user}{secret}@{self.host}:{self.port}/{self.database}"


class ServiceSettings(BaseSettings):
    """What every service has. Printing it masks secrets (SecretStr)."""

    model_config = SettingsConfigDict(extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    # "production" refuses to start with a development credential (the sample integration's
    # token, terminals' tokens derived from a dev secret): one variable for every service
    environment: Literal["development", "production"] = Field(
        default="development",
        validation_alias=AliasChoices("KJ_ENVIRONMENT", "environment"),
    )
    http_host: str = "127.0.0.1"  # where the HTTP API listens (0.0.0.0 in a pod)
    http_port: int = 8000  # its port: each service has its own default
    # HTTP server limits (decision 0074): a request, head and body, must arrive whole within
    # this many seconds of its first byte (slowloris); a kept-alive connection with no request
    # is closed after the idle timeout; a request's line and headers hold at most this much
    http_read_timeout_s: float = Field(default=10.0, gt=0)
    http_idle_timeout_s: int = Field(default=5, ge=1)
    http_max_head_bytes: int = Field(default=65_536, ge=1024)
    # a WebSocket's keepalive: a ping this often, the socket closed when its pong is this late
    ws_ping_interval_s: float = Field(default=20.0, gt=0)
    # a request body over this is answered 413 once read (and dropped) up to 8 MiB (issue 19)
    http_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # when set, /metrics and the API pages (/docs, /redoc, /openapi.json) are served only on
    # this port, on ops_host, and no longer on http_port (decision 0073)
    ops_port: int | None = None
    ops_host: str = "127.0.0.1"
    retry_after_s: int = 2  # the Retry-After of a 503 when the database or broker does not answer
    log_level: str = "info"  # debug, info, warning, error
    log_json: bool | None = None  # None: JSON when stdout is not a terminal
    # the city: city.yaml (platforms, units, tier targets), zones and checkpoints
    city_dir: Path = Field(
        default=REPO_ROOT / "cities" / "shaoyang",
        validation_alias=AliasChoices("KJ_CITY_DIR", "city_dir"),
    )

    @property
    def production(self) -> bool:
        return self.environment == "production"
