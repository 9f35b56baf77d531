"""Phones' positions over HTTP: each request names its device and proves it with the device's
token; the fixes are converted to WGS84 from the datum the device is registered with, put in
time order (a burst queued in a dead zone arrives oldest first) and handed to the ping sink.
A phone's fix must be recent (issue 14): at most a day ahead of the gateway's clock and a year
behind it, as every other time an outside party gives the platform."""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kj_devices.domain.binding import Binding, Protocol
from kj_devices.domain.fixes import Fix, FixRefused, make_fix
from kj_devices.service_layer.terminals import Terminals
from kj_devices.settings import DevicesSettings
from kj_schemas.base import RECENT_FUTURE, RECENT_PAST


class Refused(Exception):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RawFix:
    """A fix as a phone sent it, in its own datum."""

    ts: float
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None


@dataclass(frozen=True)
class Taken:
    accepted: int
    refused: list[tuple[int, str]]  # (index in the request, reason)


class Locations:
    def __init__(
        self,
        terminals: Terminals,
        settings: DevicesSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.terminals = terminals
        self.settings = settings
        self.clock = clock

    def authenticate(self, device_id: str | None, token: str | None) -> Binding:
        """The phone's binding, or Refused(401) whatever was wrong (no oracle for ids)."""
        binding = self.terminals.lookup(device_id or "")
        if binding is None or binding.protocol is not Protocol.http:
            Binding("", Protocol.http, "", "0" * 64).accepts(token)  # the same work either way
            raise Refused(401, "unknown_device", "no device with this id and token")
        if not binding.accepts(token):
            raise Refused(401, "unknown_device", "no device with this id and token")
        return binding

    def take(self, binding: Binding, raw: Iterable[RawFix]) -> Taken:
        fixes: list[tuple[float, int, Fix]] = []
        refused: list[tuple[int, str]] = []
        now = self.clock()
        earliest, latest = now - RECENT_PAST.total_seconds(), now + RECENT_FUTURE.total_seconds()
        for index, r in enumerate(raw):
            if not earliest <= r.ts <= latest:  # NaN fails it too
                refused.append((index, "bad_time"))
                continue
            try:
                fix = make_fix(
                    binding.unit_id,
                    r.ts,
                    r.lat,
                    r.lon,
                    datum=binding.datum,
                    speed_kmh=r.speed_kmh,
                    heading_deg=r.heading_deg,
                    accuracy_m=r.accuracy_m,
                )
            except FixRefused as error:
                refused.append((index, error.reason))
                continue
            fixes.append((fix.ts, index, fix))
        fixes.sort(key=lambda item: (item[0], item[1]))
        if fixes:
            self.terminals.take_fixes([fix for _, _, fix in fixes])
        return Taken(len(fixes), refused)
