"""The alarm service's settings (env prefix `KJ_ALARM_`). Integration tokens are kept only as
SHA-256 hashes; the token itself never reaches the settings, a log or the database."""

import json
from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from kj_runtime.credentials import CREDENTIAL, check_hashes, read_hash_table, token_hash
from kj_runtime.integrations import IntegrationSettings
from kj_runtime.settings import ServiceSettings

# DEV ONLY: the sample integration `sy110` accepts the bearer token `dev-sy110-token` unless
# KJ_ALARM_INTEGRATIONS is set. Production deployments set their own hashes, and with
# KJ_ENVIRONMENT=production the service refuses to start with this one.
DEV_TOKEN = "dev-sy110-token"  # noqa: S105 - documented development credential
DEV_INTEGRATIONS = {"sy110": token_hash(DEV_TOKEN)}


class AlarmSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_ALARM_", extra="ignore")

    http_port: int = 8010  # the intake API, /metrics and the probes
    # the integration registry (decision 0126): how often it is read, the default rate limit
    registry: IntegrationSettings = Field(default_factory=IntegrationSettings)
    # integration name -> sha256 hex of its bearer token, e.g. '{"sy110": "9f86d0..."}', held
    # beside the registry's tokens (`kj-admin integrations`); the development default here
    integrations: dict[str, str] = Field(
        default_factory=lambda: dict(DEV_INTEGRATIONS), json_schema_extra=CREDENTIAL
    )
    # the same table from a file, or from every JSON file of a directory (a mounted Secret)
    integrations_file: Path | None = None
    max_body_bytes: int = 16_384  # larger reports are refused with 413
    # a report within this distance and time of an open alarm of its kind is merged into it
    merge_distance_m: float = 200.0
    merge_window_s: float = 1800.0
    # an update that moves the scene farther than this re-plans its dispatch (decision 0115)
    update_replan_distance_m: float = Field(default=300.0, ge=0)
    county_target_seconds: int | None = None  # overrides the city's county target when set
    board_max_page: int = 500  # GET /v1/alarms returns at most this many per page
    # group commit (decision 0011): transactions in flight, alarms per transaction at most,
    # and how long the first alarm of a transaction waits for company (0: no wait)
    intake_writers: int = Field(default=2, ge=1)
    intake_max_batch: int = Field(default=200, ge=1)
    intake_linger_ms: float = Field(default=0.0, ge=0)
    # the outbox relay waits this long before each pass, so one pass carries many commits
    relay_linger_ms: float = Field(default=10.0, ge=0)
    consume_intake: bool = True  # alarms.intake for integrations that prefer Kafka
    consume_workorders: bool = True  # dispatch.workorders + workorders.events → timeline
    consume_receipts: bool = True  # notify.receipts (terminal receipts) → timeline

    @field_validator("integrations", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict):
            return check_hashes(value, where="integration")
        return value

    @model_validator(mode="after")
    def _read_file(self) -> Self:
        if self.integrations_file is not None:
            if "integrations" in self.model_fields_set:
                raise ValueError(
                    "set KJ_ALARM_INTEGRATIONS or KJ_ALARM_INTEGRATIONS_FILE, not both"
                )
            self.integrations = read_hash_table(self.integrations_file)
        if self.production and DEV_INTEGRATIONS["sy110"] in self.integrations.values():
            raise ValueError(
                "the development token dev-sy110-token is refused when KJ_ENVIRONMENT=production: "
                "set KJ_ALARM_INTEGRATIONS_FILE (or KJ_ALARM_INTEGRATIONS) to the integrations' "
                "own token hashes"
            )
        return self
