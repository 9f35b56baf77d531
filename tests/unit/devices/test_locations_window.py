"""A phone's fix is taken only if it is recent: a day ahead of the gateway's clock and a year
behind it at most (issue 14), like every time an outside party gives the platform."""

from typing import Any, cast

from kj_devices.domain.binding import Binding, Protocol
from kj_devices.domain.fixes import Fix
from kj_devices.service_layer.locations import Locations, RawFix

NOW = 1_800_000_000.0
DAY = 86_400.0


class Kept:
    def __init__(self) -> None:
        self.fixes: list[Fix] = []

    def take_fixes(self, fixes: list[Fix]) -> None:
        self.fixes.extend(fixes)


def test_fixes_a_day_ahead_or_a_year_back_are_refused_as_bad_time() -> None:
    kept = Kept()
    locations = Locations(cast(Any, kept), cast(Any, None), clock=lambda: NOW)
    binding = Binding("phone-1", Protocol.http, "SY-P01-C1", "0" * 64)
    times = [NOW - 365 * DAY - 1, NOW - 364 * DAY, NOW, NOW + DAY - 1, NOW + DAY + 1]
    taken = locations.take(binding, [RawFix(t, 27.2, 111.4) for t in times])
    assert taken.accepted == 3
    assert taken.refused == [(0, "bad_time"), (4, "bad_time")]
    assert [f.ts for f in kept.fixes] == times[1:4]
