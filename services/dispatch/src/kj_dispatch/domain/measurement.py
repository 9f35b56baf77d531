"""The 1/3/5 measurement, one definition everywhere (issue 16): the tier target is judged from
the moment the platform receives the 110 instruction to the unit on scene, as in the seeds' own
case ("接到110指令 … 仅用1分钟赶到现场"). Beside it, under their own names: the citizen's total
wait (the call to the 110 centre → on scene) and the platform's own share (receipt → work order
issued)."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Measurement:
    response_s: float  # on_scene - received_at: judged against the tier target
    citizen_s: float  # on_scene - reported_at: what the caller lived through
    platform_s: float  # work order issued - received_at
    target_met: bool


def measure(
    *,
    reported_at: datetime,
    received_at: datetime,
    issued_at: datetime,
    on_scene_at: datetime,
    target_s: float,
) -> Measurement:
    response = max((on_scene_at - received_at).total_seconds(), 0.0)
    citizen = max((on_scene_at - reported_at).total_seconds(), response)
    platform = max((issued_at - received_at).total_seconds(), 0.0)
    return Measurement(response, citizen, platform, response <= target_s)
