"""Reads for the HTTP entrypoint: a unit's stored track, the check-ins a platform missed."""

from datetime import datetime

import asyncpg

from kj_tracking.adapters.records import checkpoints_not_visited
from kj_tracking.adapters.tracks import TrackPoint, unit_track


async def track(
    pool: asyncpg.Pool, unit_id: str, start: datetime, end: datetime
) -> list[TrackPoint]:
    async with pool.acquire() as connection:
        return await unit_track(connection, unit_id, start, end)


async def checkpoints_missed(
    pool: asyncpg.Pool, platform_id: str, start: datetime, end: datetime
) -> list[str]:
    async with pool.acquire() as connection:
        missed = await checkpoints_not_visited(connection, platform_id, start, end)
    return [m.checkpoint_id for m in missed]
