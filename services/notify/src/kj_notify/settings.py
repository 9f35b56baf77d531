"""The notify service's settings (env prefix `KJ_NOTIFY_`). Device and integration tokens are
held only as SHA-256 hashes; the dev secret and push credentials are masked when printed."""

import uuid

from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from kj_runtime.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_NOTIFY_", extra="ignore")

    http_port: int = 8040
    # distinct per process (default: random), so a replica ignores its own announcements
    replica_id: str = Field(default_factory=lambda: f"notify-{uuid.uuid4().hex[:8]}")

    # unit_id -> sha256(device token) as hex. A token speaks only for its own unit.
    device_token_sha256: dict[str, str] = Field(default_factory=dict)
    # Demo/simulator only: a unit's token is HMAC-SHA256(dev secret, unit id), hex. Off unless set.
    dev_token_secret: SecretStr | None = None
    # source (110 integration) -> sha256(its API token), for registering its callback URL.
    integration_token_sha256: dict[str, str] = Field(default_factory=dict)

    # status callbacks: each POST's own timeout, and how long a change is retried before it is
    # dead-lettered; backoff is exponential with jitter between the two wait bounds.
    callback_timeout_s: float = 5.0
    callback_retry_window_s: float = 300.0
    callback_wait_initial_s: float = 0.5
    callback_wait_max_s: float = 30.0

    # broadcasts: the HTTP push gateway for taxi drivers and volunteers (None: not configured,
    # deliveries are recorded as failed with that cause)
    push_url: AnyHttpUrl | None = None
    push_timeout_s: float = 5.0

    # how often the backlog gauge is refreshed and overdue deliveries get a failed receipt
    overdue_check_s: float = 5.0

    consumer_group: str = "notify"
    # False: a gateway-only replica that serves sockets and learns of deliveries from the others
    # through PostgreSQL NOTIFY (decision 0040); its outbox relay, senders and workers still run.
    consume: bool = True
