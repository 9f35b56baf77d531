"""The track writer through database restarts (issue 14's chaos run): connections cut in the
middle of a COPY, and refused for a while, cost at most the batches that were in flight; the
writer goes on and records what comes after."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from kj_runtime.db import create_pool
from kj_runtime.settings import PostgresSettings
from kj_tracking.adapters.tracks import Row, TrackWriter, ensure_partitions
from tests.tcp_gate import gate_to


def rows(unit_id: str, count: int) -> list[Row]:
    now = datetime.now(UTC)
    return [
        (unit_id, now - timedelta(milliseconds=n), 27.25, 111.45, 30.0, 90.0, 5.0, now)
        for n in range(count)
    ]


async def test_the_track_writer_survives_connections_cut_mid_copy(
    database: PostgresSettings,
) -> None:
    run = uuid.uuid4().hex[:6]
    direct = await asyncpg.connect(database.dsn())
    try:
        await ensure_partitions(direct, datetime.now(UTC).date())
        async with gate_to(database) as gate:
            pool = await create_pool(gate.settings(database), min_size=2, max_size=4)
            writer = TrackWriter(pool)
            stop = asyncio.Event()
            task = asyncio.create_task(writer.run(stop))
            try:
                for cut in range(8):
                    writer.offer(rows(f"CUT-{run}-{cut}", 20_000))
                    await asyncio.sleep(0.02 * cut)  # cut at different moments of the COPY
                    await gate.close()
                    await asyncio.sleep(0.3)
                    await gate.open()
                    assert not task.done(), task.exception() if task.done() else None
                after = f"AFTER-{run}"
                writer.offer(rows(after, 100))
                async with asyncio.timeout(60):
                    while not await direct.fetchval(
                        "select count(*) from tracks where unit_id = $1", after
                    ):
                        assert not task.done(), task.exception() if task.done() else None
                        await asyncio.sleep(0.2)
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
                await pool.close()
    finally:
        await direct.close()
