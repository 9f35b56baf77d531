"""The command centre hears of each platform newly left without a unit that could reach it in
time, once, with the units free per platform on /metrics; the report is worked out off the
event loop (issue 20) and still told against the real database."""

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from kj_dispatch.bootstrap import build_dispatcher
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.settings import DispatchSettings
from kj_runtime.db import create_pool
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.enums import UnitKind

from .helpers import CITY, REGION, east, unit_state

CARS = [u for u in CITY.units if u.kind is UnitKind.car][:2]


@pytest.fixture
async def dispatcher(
    database: PostgresSettings, topics: KafkaSettings, quiet_city: None
) -> AsyncIterator[Dispatcher]:
    pool = await create_pool(database)
    d = build_dispatcher(DispatchSettings(kafka=topics), pool, CITY)
    await d.hold_regions({REGION})
    d.fleet_ready.set()
    yield d
    await pool.execute("delete from outbox where stream = $1", d.outbox.stream)
    await pool.close()


async def gap_notices(d: Dispatcher) -> list[dict[str, Any]]:
    rows = await d.pool.fetch(
        "select value from outbox where stream = $1 order by id", d.outbox.stream
    )
    notices = [orjson.loads(r["value"]) for r in rows]
    return [n for n in notices if n.get("kind") == "coverage_gap"]


def free_at(platform_id: str) -> float | None:
    return REGISTRY.get_sample_value("kj_dispatch_units_available", {"platform": platform_id})


async def test_each_uncovered_platform_is_told_once(dispatcher: Dispatcher) -> None:
    await dispatcher.pool.execute("delete from outbox where stream = $1", dispatcher.outbox.stream)
    dispatcher.on_unit_state(unit_state(CARS[0].id, east(0)))
    told = await dispatcher.report_coverage()
    # one car in a city of 33 platforms: most of them are beyond its reach in time
    assert len(told) > len(CITY.platforms) // 2
    notices = await gap_notices(dispatcher)
    assert sorted(n["platform_id"] for n in notices) == sorted(told)
    assert all(n["eta_s"] > n["target_s"] for n in notices if n.get("eta_s") is not None)
    assert free_at(CARS[0].platform) == 1
    assert await dispatcher.report_coverage() == []  # nothing changed: nothing new to tell
    dispatcher.on_unit_state(unit_state(CARS[1].id, east(100)))  # a second car, same place
    assert await dispatcher.report_coverage() == []  # the same gaps: told once already
    assert len(await gap_notices(dispatcher)) == len(notices)
    assert free_at(CARS[1].platform) == (2 if CARS[1].platform == CARS[0].platform else 1)
