"""schemathesis against patrol tracking's HTTP API as the host serves it, with the boundary values
of issue 14 among the requests and, in a share of them, a unit that has a track and a platform
the operator may see: no 5xx, and no answer that breaks the published schema."""

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kj_runtime.host import hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_sim.services import free_port
from kj_tracking.bootstrap import build
from tests.integration.fuzz import assert_no_5xx_with_boundaries, fuzz

from .conftest import (
    CHECKPOINT,
    OPERATOR_AUTH,
    P01_AUTH,
    UNIT,
    drive,
    eventually,
    send_fixes,
    tracking_settings,
)

pytestmark = pytest.mark.slow


async def test_schemathesis_finds_no_5xx_and_no_schema_breaking_answer(
    topics: KafkaSettings,
    database: PostgresSettings,
    producer: AIOKafkaProducer,
    db: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    settings = tracking_settings(topics, database, http_port=free_port())
    service = await build(settings)
    async with hosted(service) as host:
        url = f"http://127.0.0.1:{settings.http_port}"
        async with asyncio.timeout(30), httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        # a track in the last minutes, so a share of the track requests read rows
        fixes = drive((CHECKPOINT[0] - 0.005, CHECKPOINT[1]), CHECKPOINT, time.time() - 300, 60)
        await send_fixes(producer, topics, fixes)
        tracks = host.core.tracks
        assert tracks is not None

        last = datetime.fromtimestamp(fixes[-1].ts, UTC)

        async def stored() -> bool:  # the last fix moved, so it is kept (decision 0161)
            await tracks.drain()
            return bool(
                await db.fetchval(
                    "select count(*) from tracks where unit_id = $1 and fix_at = $2", UNIT, last
                )
            )

        await eventually(stored)
        run = await fuzz(
            url,
            headers={
                "*": OPERATOR_AUTH,
                "/platforms/{platform_id}/checkpoints/not-visited": P01_AUTH,
            },
            known={"unit_id": [UNIT, "SY-P02-C1"], "platform_id": ["SY-P01", "SY-P02"]},
            operations=3,
            cwd=tmp_path,
        )
    print(run.summary())
    assert_no_5xx_with_boundaries(run)
