"""schemathesis against the OpenAPI document the live service serves, with the boundary values
of issue 14 among the requests (`tests/integration/fuzz_boundaries.py`) and the ids of alarms
that exist in their paths: no 5xx, and no answer that breaks the published schema (status code,
content type, headers, body)."""

from pathlib import Path

import httpx
import pytest

from kj_runtime.settings import KafkaSettings, PostgresSettings
from tests.integration.fuzz import assert_no_5xx_with_boundaries, fuzz

from .conftest import AUTH, recent, report
from .server import served

pytestmark = pytest.mark.slow


async def test_schemathesis_finds_no_5xx_and_no_schema_breaking_answer(
    database: PostgresSettings, topics: KafkaSettings, tmp_path: Path
) -> None:
    async with served(database, topics) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH) as client:
            at, place = recent(days=290), {"lat": 27.0501, "lon": 110.9001}
            ids = []
            for location in (place, {"lat": 27.0502, "lon": 110.9002}):  # the second merges
                body = report(location=location, category="fight", reported_at=at)
                ids.append((await client.post("/v1/alarms", json=body)).json()["alarm_id"])
        run = await fuzz(
            server.url,
            headers={"*": AUTH},
            known={"alarm_id": ids, "source": ["sy110"]},
            operations=6,
            cwd=tmp_path,
        )
    print(run.summary())
    assert_no_5xx_with_boundaries(run)
