"""The tracks role: consumes the same pings in its own consumer group, classifies them with the
same pure validation against its own compact unit registry, and queues trusted and late fixes
for COPY. Running it as a separate process keeps PostgreSQL's COPY cost (about 3 µs of client
CPU per row here, plus the server's) off the unit-state hot path (docs/decisions/0020)."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from kj_tracking.adapters.ping_codec import DecodeError, decode_wire
from kj_tracking.adapters.tracks import Row, TrackWriter
from kj_tracking.domain.units import Fix, UnitTrack
from kj_tracking.domain.validation import Outcome, Rules, check


@dataclass
class TrackRecorder:
    units: dict[str, UnitTrack]
    rules: Rules
    tracks: TrackWriter

    async def handle_pings(self, batch: Sequence[ConsumerRecord]) -> None:
        now = time.time()
        received = datetime.fromtimestamp(now, UTC)
        units, rules, accepted, late = (
            self.units,
            self.rules,
            Outcome.accepted,
            Outcome.out_of_order,
        )
        rows: list[Row] = []
        for record in batch:
            try:
                wire = decode_wire(record.value)
            except DecodeError:
                continue  # dead-lettered by the state role
            fix = Fix(
                wire.unit_id,
                wire.ts.timestamp(),
                wire.lat,
                wire.lon,
                wire.speed_kmh,
                wire.heading_deg,
                wire.accuracy_m,
            )
            unit = units.get(fix.unit_id)
            outcome = check(fix, unit, now, rules)
            if outcome is accepted and unit is not None:
                unit.move_to(fix, now)
            elif outcome is not late:
                continue
            rows.append(
                (
                    fix.unit_id,
                    wire.ts,
                    fix.lat,
                    fix.lon,
                    fix.speed_kmh,
                    fix.heading_deg,
                    fix.accuracy_m,
                    received,
                )
            )
        self.tracks.offer(rows)
