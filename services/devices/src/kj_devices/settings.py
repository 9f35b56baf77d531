"""The device gateway's settings (env prefix `KJ_DEVICES_`)."""

import socket

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from kj_runtime.credentials import CREDENTIAL
from kj_runtime.settings import ServiceSettings


class DevicesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_DEVICES_", extra="ignore")

    http_port: int = 8050  # phones' locations, the officer app, /metrics and the probes
    jt808_host: str = "127.0.0.1"  # where 808 terminals connect (0.0.0.0 in a pod)
    jt808_port: int = 8808  # their TCP port
    # the zone of the terminals' BCD clocks: the standard says GMT+8
    jt808_utc_offset_minutes: int = 480
    # a connection that has not authenticated this long after opening is closed
    jt808_auth_timeout_s: float = 30.0
    # a connection silent this long is closed (terminals send a heartbeat every 60 s by default)
    jt808_idle_timeout_s: float = 180.0
    # bytes waiting to be written to a terminal that does not read: over this it is dropped
    jt808_write_limit_bytes: int = 64 * 1024
    # frames that fail their check code or header in a row before the connection is dropped
    jt808_max_bad_frames: int = 3
    # fixes waiting for the broker, at most: past this (a broker outage) new ones are dropped
    # and counted; the terminals were already answered
    ping_queue_max: int = 200_000
    ping_flush_ms: float = 20.0  # fixes are sent to the broker in a batch this often at most
    registry_refresh_s: float = 5.0  # the device registry is read again this often
    # work orders: each gateway reads every one in a consumer group of its own
    group_id: str = "devices"
    # this gateway's name in its group (`<group_id>-workorders-<instance>`): the pod's own
    instance: str = Field(default_factory=socket.gethostname)
    # a text dispatch held for a terminal that is offline is sent when it signs in, if younger
    text_hold_s: float = 1800.0
    ticket_ttl_s: float = 120.0  # the officer app: a WebSocket ticket's lifetime
    # signs the officer app's tickets; notify checks them with the same secret (decision 0092);
    # unset: the app cannot sign in (503)
    ticket_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("KJ_TERMINAL_TICKET_SECRET", "ticket_secret"),
        json_schema_extra=CREDENTIAL,
    )
    # notify's terminal socket as the app reaches it: a ws(s):// URL, or a path on the app's
    # own host (a Gateway routes it to notify); unset: the page's host, port 8040
    notify_ws_url: str | None = None
    # the app's base map: a tile URL template ({z}/{x}/{y}) in WGS84 / Web Mercator, e.g. a
    # bureau's own tile server; unset: the scene and the unit on a plain background
    app_tile_url: str | None = None
    app_tile_attribution: str = ""  # shown under the base map, as its licence asks
    app_position_flush_s: float = 1.0  # the app sends its queued positions this often
