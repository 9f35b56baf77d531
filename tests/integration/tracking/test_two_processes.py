"""Two state processes share the pings: each owns the units of its partitions, both read
every work order, and the owner of a unit detects its arrival once."""

import time
import uuid

from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings
from kj_schemas.enums import UnitStatus

from .conftest import (
    StartService,
    drive,
    eventually,
    on_scene_events,
    published_statuses,
    send_fixes,
    send_work_order,
    work_order,
)

SCENE = (27.2389, 111.4677)


async def test_two_processes_split_the_units_and_the_owner_detects_the_arrival_once(
    start_service: StartService, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    group = f"tracking-pair-{uuid.uuid4().hex[:6]}"
    first = await start_service(group_id=group, instance="a", role="state")
    second = await start_service(group_id=group, instance="b", role="state")
    every_unit = set(first.tracker.units)

    def split() -> bool:
        a, b = first.tracker.owned, second.tracker.owned
        return bool(a and b and not a & b and a | b == every_unit)

    await eventually(split, timeout_s=60)
    assert first.tracker.owned is not None
    untouched = [  # by the other tests of the session, whose states are on units.state
        u
        for u in sorted(first.tracker.owned)
        if not first.tracker.units[u].has_fix and not first.tracker.units[u].work_order_id
    ]
    unit_id = untouched[0]

    order = work_order(SCENE, unit=unit_id)
    await send_work_order(producer, topics, order)
    # both read every work order; only the owner publishes the unit's state
    await eventually(lambda: second.tracker.units[unit_id].work_order_id is not None)
    await eventually(lambda: first.tracker.units[unit_id].status is UnitStatus.assigned)

    t0 = time.time() - 40
    fixes = drive((SCENE[0] - 0.004, SCENE[1]), SCENE, t0, steps=30, unit=unit_id)
    await send_fixes(producer, topics, fixes)
    work_order_id = str(order.work_order_id)
    await eventually(lambda: on_scene_events(topics, work_order_id))
    assert first.tracker.units[unit_id].status is UnitStatus.on_scene
    assert not second.tracker.units[unit_id].has_fix  # its pings never reached the other
    assert len(await on_scene_events(topics, work_order_id)) == 1
    statuses = await published_statuses(topics, unit_id)
    assert statuses[-1] == "on_scene" and statuses.count("on_scene") == 1
