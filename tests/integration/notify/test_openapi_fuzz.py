"""schemathesis against the terminal gateway's HTTP routes, with the boundary values of issue 14
among the requests and, in a share of them, a work order the unit holds and the integration's own
source: no 5xx, and no answer that breaks the published schema."""

import asyncio
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import DISPATCH_WORKORDERS
from tests.integration.fuzz import assert_no_5xx_with_boundaries, fuzz

from .conftest import INTEGRATION_TOKEN, RunningNotify, publish, unit, work_order
from .terminal_client import token_for

pytestmark = pytest.mark.slow


async def test_schemathesis_finds_no_5xx_and_no_schema_breaking_answer(
    notify: RunningNotify,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    unit_id = unit("FUZZ")
    orders = [work_order(unit_id) for _ in range(3)]
    for order in orders:
        await publish(producer, topics, DISPATCH_WORKORDERS.name, unit_id, order)
    async with asyncio.timeout(30):
        while await db.fetchval(
            "select count(*) from terminal_deliveries where unit_id = $1", unit_id
        ) < len(orders):
            await asyncio.sleep(0.05)
    run = await fuzz(
        notify.http,
        headers={
            "/v1/workorders/{work_order_id}/events": {
                "Authorization": f"Bearer {token_for(unit_id)}",
                "X-KJ-Unit": unit_id,
            },
            "/v1/integrations/{source}/callback": {"Authorization": f"Bearer {INTEGRATION_TOKEN}"},
        },
        known={
            "work_order_id": [str(o.work_order_id) for o in orders],
            "source": ["sy110"],
        },
        operations=2,
        cwd=tmp_path,
    )
    print(run.summary())
    assert_no_5xx_with_boundaries(run)
