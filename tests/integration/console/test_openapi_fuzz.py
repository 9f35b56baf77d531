"""schemathesis against the console's API as the host serves it, signed in as a dispatcher (the
session cookie and the CSRF header on four requests in five), with alarm intake running behind
it for the unmerge: the boundary values of issue 14 among the requests, and in a share of them an
alarm that exists (merged into another) and a unit of the city. No 5xx, and no answer that breaks
the published schema. Signing out ends a second session, so the fuzzing keeps the first; the
audit is read as a supervisor."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kj_alarm.settings import DEV_TOKEN
from kj_console.bootstrap import build
from kj_console.domain.sessions import COOKIE, CSRF_HEADER
from kj_runtime.host import hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings
from tests.integration.fuzz import assert_no_5xx_with_boundaries, fuzz

from ..alarm.server import served
from .conftest import PASSWORD, _ready, console_settings

pytestmark = pytest.mark.slow


async def merged_alarms(alarm_url: str) -> list[str]:
    """Two reports of one fight a few metres apart: the second merges into the first."""
    at = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0).isoformat()
    ids = []
    async with httpx.AsyncClient(
        base_url=alarm_url, headers={"Authorization": f"Bearer {DEV_TOKEN}"}
    ) as client:
        for lat, lon in ((27.0601, 110.9101), (27.0602, 110.9102)):
            body = {
                "source": "sy110",
                "source_alarm_id": f"F-{uuid.uuid4().hex[:12]}",
                "reported_at": at,
                "caller_phone": "13807391234",
                "location": {"lat": lat, "lon": lon},
                "category": "fight",
                "priority": 2,
            }
            answer = await client.post("/v1/alarms", json=body)
            assert answer.status_code in (200, 201, 202), answer.text
            ids.append(answer.json()["alarm_id"])
    return ids


async def session(base: str, name: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.post("/api/login", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {
            "Cookie": f"{COOKIE}={client.cookies[COOKIE]}",
            CSRF_HEADER: answer.json()["csrf"],
        }


async def test_schemathesis_finds_no_5xx_and_no_schema_breaking_answer(
    topics: KafkaSettings,
    database: PostgresSettings,
    people: dict[str, str],
    tmp_path: Path,
) -> None:
    async with served(database, topics) as alarm:
        ids = await merged_alarms(alarm.url)
        settings = console_settings(topics, database, alarm_url=alarm.url, alarm_token=DEV_TOKEN)
        async with hosted(await build(settings)) as host:
            async with asyncio.timeout(30):
                while not await _ready(host):
                    await asyncio.sleep(0.1)
            base = f"http://127.0.0.1:{settings.http_port}"
            dispatcher = await session(base, "zhang_wei")
            supervisor = await session(base, "chen_jie")  # the audit is theirs to read
            leaving = await session(base, "li_na")
            run = await fuzz(
                base,
                headers={"*": dispatcher, "/api/audit": supervisor, "/api/logout": leaving},
                known={"alarm_id": ids, "unit_id": ["SY-P01-C1", "SY-P02-M1"]},
                operations=12,
                cwd=tmp_path,
            )
    print(run.summary())
    assert_no_5xx_with_boundaries(run)
