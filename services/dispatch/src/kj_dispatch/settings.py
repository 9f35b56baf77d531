"""Dispatch settings (env prefix KJ_DISPATCH_, nested with `__`, e.g. KJ_DISPATCH_ETA__CIRCUITY)."""

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
    eta: EtaParams = Field(default_factory=EtaParams)
    plans_file: Path = DEFAULT_PLANS_FILE  # the response plans (处警预案): backups by category
