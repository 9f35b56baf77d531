"""Dispatch settings (env prefix KJ_DISPATCH_, nested with `__`, e.g. KJ_DISPATCH_ETA__CIRCUITY)."""

import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kj_dispatch.domain.eta import EtaParams
from kj_dispatch.domain.plans import DEFAULT_PLANS_FILE
from kj_runtime.settings import ServiceSettings


class DispatchSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="KJ_DISPATCH_", env_nested_delimiter="__", extra="ignore"
    )

    http_port: int = 8030  # the HTTP API, /metrics and the probes
    group_id: str = "dispatch"  # one group: alarms keyed by region, one writer per region
    # this process among the replicas: the owner named on a region's lease, and its own consumer
    # group for work-order events (`<group_id>.events.<instance>`: every replica reads every
    # answer, for the orders of its regions). Stable across restarts in Kubernetes (a
    # StatefulSet's pod name), so a restart resumes its events where it stopped.
    instance: str = Field(
        default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
    )
    # a region's alarms go to another replica this long after a replica stops answering the
    # group (the broker's minimum); a replica that stops cleanly hands over at once
    session_timeout_ms: int = Field(default=6000, ge=6000, le=300_000)
    # the most calls one planning pass decides (priority first, then the longest unplanned):
    # a backlog of thousands costs a pass no more, so a new priority-1 call waits for no one
    max_calls_per_pass: int = Field(default=128, ge=1, le=10_000)
    # how often open alarms of the held regions are checked against the book, and units another
    # replica held against the database
    reconcile_interval_s: float = Field(default=5.0, gt=0)
    # where idle units patrol (issue 15, decision 0063): posts planned for them, a post for each
    # unit back from a call, move-ups when a call leaves a hole; off: units wait where they are
    positioning: bool = True
    positioning_interval_s: float = Field(default=2.0, gt=0)  # how often free units get posts
    # the city's calls a day the planner assumes until it has history to learn rates from
    expected_calls_per_day: float = Field(default=300.0, gt=0)
    history_days: int = Field(default=28, ge=1, le=365)  # call rates learned from this far back
    # calls arriving within this window are planned together (one assignment problem)
    batch_window_ms: int = Field(default=10, ge=0, le=50)
    # a work order not accepted by its unit within this is re-assigned to another unit
    accept_timeout_s: int = Field(default=30, gt=0, le=600)
    # a unit that let a work order time out is not offered another for this long
    unresponsive_hold_s: float = Field(default=300.0, ge=0)
    queue_retry_s: float = Field(default=2.0, gt=0)  # calls waiting for a unit retried this often
    timer_interval_s: float = Field(default=0.5, gt=0)  # how often acceptance deadlines are checked
    coverage_interval_s: float = Field(default=2.0, gt=0)  # coverage gauges refreshed this often
    # the k-d tree of unit positions is rebuilt at most this often
    index_rebuild_interval_s: float = Field(default=0.25, ge=0)
    max_range_m: float = Field(default=30_000.0, gt=0)  # units farther than this are never sent
    # a priority-1 call takes a unit from a priority-3/4 call only when that saves this much
    preempt_min_saving_s: float = Field(default=60.0, ge=0)
    # a dispatcher's command (dispatch.commands) older than this when it arrives is refused as
    # expired, not applied late (after an outage, an assignment minutes old surprises everyone)
    command_max_age_s: float = Field(default=60.0, gt=0)
    eta: EtaParams = Field(default_factory=EtaParams)
    plans_file: Path = DEFAULT_PLANS_FILE  # the response plans (处警预案): backups by category
