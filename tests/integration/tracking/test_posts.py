"""A unit sent to a post (decision 0063), through the real broker and database: it stays
available for calls while it drives there, its arrival within the post's radius is detected
from its own fixes once and published with the post, and a call's order takes the post away."""

import time
import uuid
from datetime import UTC, datetime

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings
from kj_schemas.enums import UnitStatus
from kj_schemas.topics import UNITS_STATE
from kj_schemas.workorders import WorkOrder
from tests.stack import read_to_end

from .conftest import (
    CHECKPOINT,
    StartService,
    drive,
    eventually,
    on_scene_events,
    send_fixes,
    send_work_order,
    work_order,
)

UNIT = "SY-P01-M1"  # not the unit other tests of this package leave on a call
POST = CHECKPOINT  # a post at the platform's checkpoint SY-P01-K1: reaching it is a check-in


def post_order(post: tuple[float, float], post_id: str = "SY-P01-K1") -> WorkOrder:
    now = datetime.now(UTC)
    return WorkOrder.model_validate(
        {
            "work_order_id": str(uuid.uuid4()),
            "action": "reposition",
            "unit_id": UNIT,
            "platform_id": "SY-P01",
            "scene": {"lat": post[0], "lon": post[1]},
            "post_id": post_id,
            "patrol_radius_m": 100,
            "issued_at": now,
            "eta_seconds": 0.0,
            "accept_within_seconds": 600,
            "reason": "freed",
        }
    )


async def states_of(kafka: KafkaSettings) -> list[dict[str, object]]:
    return [
        s
        for s in (
            orjson.loads(r.value) for r in await read_to_end(kafka, kafka.topic(UNITS_STATE.name))
        )
        if s["unit_id"] == UNIT
    ]


async def test_a_unit_reaches_its_post_once_stays_available_and_a_call_takes_the_post(
    start_service: StartService,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
) -> None:
    service = await start_service()
    unit = service.tracker.units[UNIT]
    order = post_order(POST)
    start = (POST[0] - 0.0054, POST[1])  # 600 m south
    await send_fixes(producer, topics, drive(start, start, time.time() - 200, 0, unit=UNIT))
    await eventually(lambda: unit.has_fix)
    await send_work_order(producer, topics, order)
    await eventually(lambda: unit.post is not None)
    assert unit.status is not UnitStatus.assigned  # a post does not take the unit for a call
    t0 = time.time() - 150
    approach = drive(start, POST, t0, steps=30, unit=UNIT)
    patrol = drive(POST, POST, approach[-1].ts + 1, steps=70, unit=UNIT)[
        1:
    ]  # longer than the dwell
    await send_fixes(producer, topics, approach + patrol)

    post_events = lambda: on_scene_events(topics, str(order.work_order_id))  # noqa: E731
    await eventually(post_events)
    (arrived,) = await post_events()
    assert arrived["post_id"] == order.post_id and arrived["source"] == "gps"
    at_post = lambda s: s.get("post_id") == order.post_id and s.get("at_post")  # noqa: E731
    await eventually(lambda: _latest(states_of(topics), at_post))
    latest = (await states_of(topics))[-1]
    assert latest["status"] == "available"
    since = datetime.fromtimestamp(t0 - 1, UTC)
    checked_in = "select count(*) from checkins where unit_id = $1 and arrived_at >= $2"
    await eventually(lambda: db.fetchval(checked_in, UNIT, since))  # the post's checkpoint (打卡)

    # a call takes the unit: the post is no longer its
    call = work_order((POST[0] + 0.002, POST[1]), unit=UNIT)
    await send_work_order(producer, topics, call)
    await eventually(lambda: unit.status is UnitStatus.assigned)
    await eventually(lambda: _latest(states_of(topics), lambda s: s.get("post_id") is None))
    assert unit.post is None
    assert len(await post_events()) == 1


async def _latest(states, check) -> bool:  # type: ignore[no-untyped-def]
    found = await states
    return bool(found) and check(found[-1])
