"""The notify service's settings (env prefix `KJ_NOTIFY_`). Device and integration tokens are
held only as SHA-256 hashes; the dev secret and push credentials are masked when printed."""

import uuid
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from kj_runtime.credentials import CREDENTIAL, check_hashes, read_hash_table
from kj_runtime.integrations import IntegrationSettings
from kj_runtime.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_NOTIFY_", extra="ignore")

    http_port: int = 8040  # the terminal gateway, the callback API, /metrics and the probes
    # distinct per process (default: random), so a replica ignores its own announcements
    replica_id: str = Field(default_factory=lambda: f"notify-{uuid.uuid4().hex[:8]}")

    # unit_id -> sha256(device token) as hex. A token speaks only for its own unit.
    device_token_sha256: dict[str, str] = Field(default_factory=dict, json_schema_extra=CREDENTIAL)
    # the same table from a file, or from every JSON file of a directory where several Secrets
    # are projected: a province's 20,000 units fit neither one variable nor one Secret
    device_token_sha256_file: Path | None = None
    # Demo/simulator only: a unit's token is HMAC-SHA256(dev secret, unit id), hex. Off unless set.
    dev_token_secret: SecretStr | None = None
    # the officer app's WebSocket tickets, issued by kj-devices with the same secret (None: off)
    ticket_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("KJ_TERMINAL_TICKET_SECRET", "ticket_secret")
    )
    # the integration registry (decision 0126): how often it is read, the default rate limit
    registry: IntegrationSettings = Field(default_factory=IntegrationSettings)
    # source (110 integration) -> sha256(its API token), for registering its callback URL; held
    # beside the registry's tokens (`kj-admin integrations`)
    integration_token_sha256: dict[str, str] = Field(
        default_factory=dict, json_schema_extra=CREDENTIAL
    )
    integration_token_sha256_file: Path | None = None  # as device_token_sha256_file

    # status callbacks: each POST's own timeout, and how long a change is retried before it is
    # dead-lettered; backoff is exponential with jitter between the two wait bounds.
    callback_timeout_s: float = 5.0
    callback_retry_window_s: float = 300.0
    callback_wait_initial_s: float = 0.5
    callback_wait_max_s: float = 30.0

    # the 12345 hand-off (decision 0116): diverted calls are POSTed to the hotline's system,
    # signed with this secret like status callbacks and retried like them (None: not
    # configured; diverted calls then wait on alarms.diverted, unread, until it is)
    hotline_url: AnyHttpUrl | None = None
    hotline_signing_secret: SecretStr | None = Field(
        default=None, min_length=16, json_schema_extra=CREDENTIAL
    )

    # broadcasts: the HTTP push gateway for taxi drivers and volunteers (None: not configured,
    # deliveries are recorded as failed with that cause)
    push_url: AnyHttpUrl | None = None
    push_timeout_s: float = 5.0

    # how often the backlog gauge is refreshed and overdue deliveries get a failed receipt
    overdue_check_s: float = 5.0

    # terminals (decision 0074): a WebSocket message larger than this closes the socket (1009);
    # a terminal may send this many frames a second on average and a burst at once: beyond, each
    # frame gets an error frame (`rate_limited`), and as many again in a row close it (1008)
    terminal_max_frame_bytes: int = Field(default=16_384, ge=1024)
    terminal_frames_per_s: float = Field(default=10.0, gt=0)
    terminal_frame_burst: int = Field(default=50, ge=1)
    # an answer is kept this long while PostgreSQL does not answer (tried again with backoff)
    # before the terminal is told to resend it (error frame `unavailable`, or HTTP 503)
    answer_keep_s: float = Field(default=10.0, ge=0)

    consumer_group: str = "notify"  # the consumer group of the work orders
    # False: a gateway-only replica that serves sockets and learns of deliveries from the others
    # through PostgreSQL NOTIFY (decision 0040); its outbox relay, senders and workers still run.
    consume: bool = True

    @field_validator("device_token_sha256", "integration_token_sha256")
    @classmethod
    def _hashes(cls, value: dict[str, str]) -> dict[str, str]:
        return check_hashes(value, where="KJ_NOTIFY token hashes")

    @model_validator(mode="after")
    def _no_dev_secret_in_production(self) -> Self:
        if self.production and self.dev_token_secret is not None:
            raise ValueError(
                "KJ_NOTIFY_DEV_TOKEN_SECRET derives every unit's token from one secret: it is for "
                "the demo and the simulator, and refused when KJ_ENVIRONMENT=production"
            )
        return self

    @model_validator(mode="after")
    def _hotline_is_signed(self) -> Self:
        if self.hotline_url is not None and self.hotline_signing_secret is None:
            raise ValueError("KJ_NOTIFY_HOTLINE_URL needs KJ_NOTIFY_HOTLINE_SIGNING_SECRET")
        return self

    @model_validator(mode="after")
    def _read_files(self) -> Self:
        for field in ("device_token_sha256", "integration_token_sha256"):
            path = getattr(self, f"{field}_file")
            if path is None:
                continue
            if field in self.model_fields_set:
                env = f"KJ_NOTIFY_{field.upper()}"
                raise ValueError(f"set {env} or {env}_FILE, not both")
            setattr(self, field, read_hash_table(path))
        return self
