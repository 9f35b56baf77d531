"""The console's settings (env prefix `KJ_CONSOLE_`). The session key and the alarm intake token
are secrets: masked when printed, never logged."""

from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from kj_runtime.credentials import CREDENTIAL
from kj_runtime.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_CONSOLE_", extra="ignore")

    http_port: int = 8060  # the console's pages, its API and WebSocket, /metrics, the probes
    # the key that signs session cookies; every replica needs the same one (none: a random key
    # per process, so sessions end when it restarts)
    session_secret: SecretStr | None = Field(default=None, json_schema_extra=CREDENTIAL)
    # a session ends after this long without a request, and after the longest in any case
    session_idle_s: int = Field(default=1800, ge=60)
    session_max_s: int = Field(default=12 * 3600, ge=300)
    # cookies only over HTTPS (behind the Gateway's TLS); off for http://127.0.0.1 in the demo
    cookie_secure: bool = False
    # a person's wrong passwords before their name is refused for `login_lock_s`
    login_max_failures: int = Field(default=5, ge=1)
    login_lock_s: float = Field(default=300.0, ge=0)
    # the base map: a bureau's own tile server, e.g. https://tiles.example/{z}/{x}/{y}.png; none:
    # the city's zones, platforms and checkpoints on a plain background (no internet needed)
    tile_url: str | None = None
    tile_attribution: str = ""
    # positions go to each browser as one diff at most this often
    position_interval_s: float = Field(default=1.0, ge=0.1, le=10)
    # the live view is checked against PostgreSQL this often (what Kafka said before the start)
    reconcile_interval_s: float = Field(default=5.0, gt=0)
    # messages a slow browser may have queued before it is sent a fresh snapshot instead
    browser_queue: int = Field(default=256, ge=8)
    # a command without dispatch's answer after this long is shown as unanswered
    command_answer_s: float = Field(default=10.0, gt=0)
    # alarm intake, for unmerging a call (its API takes a 110 integration's bearer token)
    alarm_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8010")
    alarm_token: SecretStr | None = Field(default=None, json_schema_extra=CREDENTIAL)
    # a unit is drawn stale after this long without a position, lost after `lost_after_s`
    stale_after_s: int = Field(default=15, gt=0)
    lost_after_s: int = Field(default=60, gt=0)
