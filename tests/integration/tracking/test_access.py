"""Live positions and GPS history are for operators who may see them (issue 14: anyone could
read any unit's position and track), and a database that does not answer is a 503 with
Retry-After, not a 500."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kj_runtime.host import hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_tracking.bootstrap import build
from tests.tcp_gate import gate_to

from .conftest import OPERATOR_AUTH, P01_AUTH, UNIT, StartService, tracking_settings

OTHER_PLATFORMS_UNIT = "SY-P02-C1"


def window(hours: float = 1) -> dict[str, str]:
    end = datetime.now(UTC)
    return {"start": (end - timedelta(hours=hours)).isoformat(), "end": end.isoformat()}


@pytest.fixture
async def client(start_service: StartService) -> AsyncIterator[httpx.AsyncClient]:
    running = await start_service()
    app = running.host.service.app
    assert app is not None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tracking") as client:
        yield client


async def test_positions_and_tracks_need_an_operators_token(client: httpx.AsyncClient) -> None:
    for path, params in (
        (f"/units/{UNIT}", {}),
        (f"/units/{UNIT}/track", window()),
        ("/platforms/SY-P01/checkpoints/not-visited", window()),
    ):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            answer = await client.get(path, params=params, headers=headers)
            assert answer.status_code == 401, (path, headers)
            assert answer.headers["www-authenticate"] == "Bearer"
        assert (await client.get(path, params=params, headers=OPERATOR_AUTH)).status_code == 200


async def test_an_operator_sees_only_its_platforms_units_and_others_look_absent(
    client: httpx.AsyncClient,
) -> None:
    mine = await client.get(f"/units/{UNIT}", headers=P01_AUTH)
    assert mine.status_code == 200 and mine.json()["unit_id"] == UNIT
    for path, params in (
        (f"/units/{OTHER_PLATFORMS_UNIT}", {}),
        (f"/units/{OTHER_PLATFORMS_UNIT}/track", window()),
        ("/platforms/SY-P02/checkpoints/not-visited", window()),
    ):
        hidden = await client.get(path, params=params, headers=P01_AUTH)
        absent = await client.get(path.replace("SY-P02", "SY-P99"), params=params, headers=P01_AUTH)
        assert hidden.status_code == absent.status_code == 404, path
        assert hidden.json() == absent.json()  # nothing tells an existing unit from none
    seen = await client.get(f"/units/{OTHER_PLATFORMS_UNIT}", headers=OPERATOR_AUTH)
    assert seen.status_code == 200


async def test_a_track_window_must_be_ordered_bounded_and_recent(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    for start, end in (
        (now, now - timedelta(hours=1)),  # backwards
        (now - timedelta(hours=25), now),  # longer than a day
        (datetime(1, 1, 2, tzinfo=UTC), datetime(1, 1, 2, 1, tzinfo=UTC)),  # year 1
        (now - timedelta(days=400), now - timedelta(days=400) + timedelta(hours=1)),
    ):
        answer = await client.get(
            f"/units/{UNIT}/track",
            params={"start": start.isoformat(), "end": end.isoformat()},
            headers=OPERATOR_AUTH,
        )
        assert answer.status_code == 422, (start, end, answer.text)


async def test_the_track_route_answers_503_with_retry_after_while_the_database_is_away(
    topics: KafkaSettings, database: PostgresSettings
) -> None:
    async with gate_to(database) as gate:
        service = await build(tracking_settings(topics, gate.settings(database)))
        async with hosted(service, http=False):
            assert service.app is not None
            transport = httpx.ASGITransport(app=service.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                path = f"/units/{UNIT}/track"
                assert (
                    await client.get(path, params=window(), headers=OPERATOR_AUTH)
                ).status_code == 200
                await gate.close()
                away = await client.get(path, params=window(), headers=OPERATOR_AUTH)
                assert away.status_code == 503, away.text
                assert int(away.headers["retry-after"]) > 0
                await gate.open()
                async with asyncio.timeout(30):
                    while (
                        await client.get(path, params=window(), headers=OPERATOR_AUTH)
                    ).status_code != 200:
                        await asyncio.sleep(0.2)
