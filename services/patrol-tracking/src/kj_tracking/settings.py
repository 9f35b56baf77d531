"""Patrol tracking settings (env prefix `KJ_TRACKING_`)."""

import json
import socket
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from kj_runtime.credentials import CREDENTIAL, check_hashes, read_hash_table
from kj_runtime.settings import ServiceSettings


class TrackingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KJ_TRACKING_", extra="ignore")

    http_port: int = 8020  # the HTTP API, /metrics and the probes
    group_id: str = "patrol-tracking"  # the consumer group of the pings
    # this process among several state processes: each reads every work order in a consumer
    # group of its own (`<group_id>-workorders-<instance>`); a restart under a new name
    # replays the work-order topics, which changes nothing already recorded
    instance: str = Field(default_factory=socket.gethostname)
    # "all": one process does everything (a city); at province scale run "state" processes
    # (unit state, arrivals, check-ins, silence) and "tracks" processes (COPY of fixes) apart
    role: Literal["all", "state", "tracks"] = "all"
    # pings handled per batch (at most): each batch ends in a wait for its unit states' acks
    # and an offset commit, so under a backlog larger batches pay that wait less often;
    # 20,000 measured best (5,000: half the rate, 50,000: -15%)
    max_batch: int = 20_000
    # a pings fetch waits (up to 100 ms) until this much has come in, rather than return each
    # producer batch on its own: 6-11% less of this process's CPU at 20,000 pings a second
    # (decision 0174)
    pings_fetch_min_bytes: int = Field(default=65_536, ge=1)
    # validation
    max_future_s: float = 30.0  # fixes dated further ahead than this are refused
    max_age_s: float = 6 * 3600.0  # fixes older than this are refused
    max_accuracy_m: float = 200.0  # fixes less accurate than this are refused
    max_speed_kmh: float = 250.0  # a fix implying a faster move is refused...
    jump_slack_m: float = 150.0  # ...beyond this much GPS noise
    # publication on units.state
    min_move_m: float = 50.0  # a unit that moved more than this is published
    heartbeat_s: float = 30.0  # and every unit at least this often
    # arrival, return to base, check-ins, silence
    arrival_radius_m: float = 100.0  # this close to the scene: on scene
    base_radius_m: float = 150.0  # this close to its platform: back at base
    returning_timeout_s: float = 1800.0  # returning this long: available again anyway
    checkin_dwell_s: float = 60.0  # this long at a checkpoint: a check-in (打卡)
    silence_s: float = 60.0  # no fix for this long: lost_contact
    sweep_interval_s: float = 1.0  # silences and check-ins are looked for this often
    # tracks
    # track rows waiting for COPY, at most (more are dropped and counted, decision 0021)
    track_queue_rows: int = 320_000
    # a trusted fix is stored in the track this far from the unit's last stored fix (decision
    # 0161; 0: every fix is stored)
    tracks_min_move_m: float = Field(default=20.0, ge=0)
    # a trusted fix is stored in the track this long after the last stored one, however near
    tracks_max_gap_s: float = Field(default=30.0, gt=0)
    track_retention_days: int = 30  # daily track partitions older than this are dropped
    track_max_hours: float = Field(default=24.0, gt=0)  # GET /units/{id}/track spans at most this

    # who may read units' positions and tracks over HTTP until the console's sessions exist
    # (decision 0072): operator name -> sha256 hex of its bearer token. None configured: every
    # read answers 401. There is no development token.
    operator_token_sha256: dict[str, str] = Field(
        default_factory=dict, json_schema_extra=CREDENTIAL
    )
    operator_token_sha256_file: Path | None = None  # the same table from a file or directory
    # operator name -> the platforms whose units it may read; an operator not named sees all
    operator_platforms: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("operator_token_sha256", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict):
            return check_hashes(value, where="KJ_TRACKING_OPERATOR_TOKEN_SHA256")
        return value

    @model_validator(mode="after")
    def _read_file(self) -> Self:
        if self.operator_token_sha256_file is not None:
            if "operator_token_sha256" in self.model_fields_set:
                env = "KJ_TRACKING_OPERATOR_TOKEN_SHA256"
                raise ValueError(f"set {env} or {env}_FILE, not both")
            self.operator_token_sha256 = read_hash_table(self.operator_token_sha256_file)
        return self
