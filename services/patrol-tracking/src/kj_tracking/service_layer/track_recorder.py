"""The tracks role: consumes the same pings in its own consumer group, classifies them with the
same pure validation against its own compact unit registry, and queues trusted and late fixes
for COPY. Running it as a separate process keeps PostgreSQL's COPY cost (about 3 µs of client
CPU per row here, plus the server's) off the unit-state hot path (docs/decisions/0020)."""

import time
from collections.abc import Iterable
from dataclasses import dataclass

from kj_tracking.adapters.ping_codec import PingWire
from kj_tracking.adapters.tracks import TrackWriter, track_rows
from kj_tracking.domain.publication import TrackRules, worth_keeping
from kj_tracking.domain.units import UnitTrack
from kj_tracking.domain.validation import Outcome, Rules, classify, window


@dataclass
class TrackRecorder:
    units: dict[str, UnitTrack]
    rules: Rules
    keep: TrackRules  # which trusted fixes are stored
    tracks: TrackWriter

    async def handle_pings(self, batch: Iterable[PingWire]) -> None:
        """Undecodable pings never reach here, and are dead-lettered by the state role."""
        now = time.time()
        units, rules, keep, accepted, late = (
            self.units,
            self.rules,
            self.keep,
            Outcome.accepted,
            Outcome.out_of_order,
        )
        fixes: list[PingWire] = []
        trusted = window(now, rules)
        for wire in batch:
            unit = units.get(wire.unit_id)
            if unit is None:
                continue
            outcome = classify(unit, wire.ts, wire.lat, wire.lon, wire.accuracy_m, trusted, rules)
            if outcome is accepted:
                unit.move(wire.ts, wire.lat, wire.lon, wire.speed_kmh, wire.heading_deg, now)
                if not worth_keeping(unit, wire.ts, wire.lat, wire.lon, keep):
                    continue
            elif outcome is not late:
                continue
            fixes.append(wire)  # kept, or late (a dead zone's fixes are all kept)
        self.tracks.offer(track_rows(fixes, now))
