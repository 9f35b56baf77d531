"""The 1/3/5 measurement: response time from the citizen's call to police on scene, with the
platform's own share (intake to work order issued) kept beside it."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Measurement:
    response_s: float  # on_scene - reported_at
    platform_s: float  # work order issued - alarm received
    target_met: bool


def measure(
    *,
    reported_at: datetime,
    received_at: datetime,
    issued_at: datetime,
    on_scene_at: datetime,
    target_s: float,
) -> Measurement:
    response = max((on_scene_at - reported_at).total_seconds(), 0.0)
    platform = max((issued_at - received_at).total_seconds(), 0.0)
    return Measurement(response, platform, response <= target_s)
