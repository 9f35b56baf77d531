"""The track-row queue never makes the hot path wait: past its bound, rows are dropped and
counted (docs/decisions/0021)."""

from datetime import UTC, datetime
from typing import cast

import asyncpg

from kj_tracking.adapters.tracks import TRACK_DROPPED, Row, TrackWriter

AT = datetime(2026, 11, 23, tzinfo=UTC)


def rows(n: int) -> list[Row]:
    return [("SY-P01-C1", AT, 27.24, 111.47, None, None, None, AT)] * n


async def test_a_full_queue_drops_and_counts_the_new_rows_and_keeps_the_queued_ones() -> None:
    writer = TrackWriter(cast(asyncpg.Pool, None), max_rows=10)
    dropped_before = TRACK_DROPPED._value.get()
    assert writer.offer(rows(6))
    assert not writer.offer(rows(6))
    assert writer.offer(rows(4))
    assert TRACK_DROPPED._value.get() == dropped_before + 6
    assert (writer.queue.qsize(), writer.queued_rows) == (2, 10)
