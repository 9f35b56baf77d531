"""A scripted drive through the real broker and database: one on_scene event from GPS, a
check-in, the track; a silent unit loses contact and recovers."""

import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings
from kj_schemas.enums import UnitStatus
from kj_tracking.adapters.records import checkpoints_not_visited
from kj_tracking.adapters.tracks import unit_track
from kj_tracking.metrics import LOST_CONTACT, PINGS

from .conftest import (
    CHECKPOINT,
    UNIT,
    StartService,
    drive,
    eventually,
    on_scene_events,
    published_statuses,
    send_fixes,
    send_work_order,
    work_order,
)


def counted(outcome: str) -> float:
    return PINGS.labels(outcome)._value.get()


async def test_a_scripted_drive_yields_one_on_scene_event_and_a_check_in(
    start_service: StartService,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
) -> None:
    service = await start_service(tracks_min_move_m=0)  # every trusted fix stored
    unit = service.tracker.units[UNIT]
    order = work_order(CHECKPOINT)
    await send_work_order(producer, topics, order)
    await eventually(lambda: unit.status is UnitStatus.assigned)

    t0 = time.time() - 120
    approach = drive((CHECKPOINT[0] - 0.0054, CHECKPOINT[1]), CHECKPOINT, t0, steps=40)
    dwell = drive(CHECKPOINT, CHECKPOINT, approach[-1].ts + 1, steps=40)[1:]
    fixes = approach + dwell
    await send_fixes(producer, topics, fixes)

    work_order_id = str(order.work_order_id)
    await eventually(lambda: on_scene_events(topics, work_order_id))
    events = await on_scene_events(topics, work_order_id)
    assert len(events) == 1
    assert events[0]["source"] == "gps"
    first_near = next(f for f in fixes if abs(f.lat - CHECKPOINT[0]) < 0.0009)  # within 100 m
    occurred = datetime.fromisoformat(str(events[0]["occurred_at"]))
    assert abs(occurred.timestamp() - first_near.ts) < 1e-3

    await eventually(lambda: db.fetchval("select count(*) from checkins where unit_id = $1", UNIT))
    start = datetime.fromtimestamp(t0 - 1, UTC)
    end = start + timedelta(hours=1)
    missed = [m.checkpoint_id for m in await checkpoints_not_visited(db, "SY-P01", start, end)]
    assert "SY-P01-K1" not in missed
    assert missed  # the platform's other checkpoints were not visited

    # the whole drive again (a terminal resending its buffer): nothing new happens
    duplicates_before = counted("duplicate") + counted("out_of_order")
    await send_fixes(producer, topics, fixes)
    await eventually(
        lambda: counted("duplicate") + counted("out_of_order") >= duplicates_before + len(fixes)
    )
    assert len(await on_scene_events(topics, work_order_id)) == 1
    assert await db.fetchval("select count(*) from gps_arrivals") == 1

    assert service.tracker.tracks is not None
    await service.tracker.tracks.drain()
    track = await unit_track(db, UNIT, start, end)
    assert [round(p.fix_at.timestamp(), 3) for p in track] == [round(f.ts, 3) for f in fixes]


async def test_a_parked_unit_stores_one_fix_in_30_s_and_a_driving_one_each_20_m(
    start_service: StartService,
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
    db: asyncpg.Connection,
) -> None:
    """Stored tracks thinned as decision 0161 sets by default: 90 s parked at 1 Hz are 3 rows,
    the drive that follows at 27 m a second is every fix."""
    await start_service()
    unit_id = "SY-P01-M4"
    t0 = time.time() - 200
    parked = drive((27.25, 111.46), (27.25, 111.46), t0, 89, unit=unit_id)  # seconds 0-89
    away = drive((27.25, 111.46), (27.2527, 111.46), t0 + 89, 11, unit=unit_id)[1:]  # 27 m/s
    await send_fixes(producer, topics, parked + away)
    start = datetime.fromtimestamp(t0 - 1, UTC)
    last = datetime.fromtimestamp(away[-1].ts, UTC)
    await eventually(  # the last fix is stored either way (it moved), and comes in the last COPY
        lambda: db.fetchval(
            "select count(*) from tracks where unit_id = $1 and fix_at = $2", unit_id, last
        )
    )
    track = await unit_track(db, unit_id, start, start + timedelta(hours=1))
    assert [round(p.fix_at.timestamp() - t0) for p in track] == [0, 30, 60, *range(90, 101)]


async def test_a_silent_unit_loses_contact_and_its_next_ping_restores_it(
    start_service: StartService, producer: AIOKafkaProducer, topics: KafkaSettings
) -> None:
    service = await start_service(silence_s=1.5)
    unit = service.tracker.units["SY-P01-C2"]
    lost_before = LOST_CONTACT._value.get()
    await send_fixes(
        producer, topics, drive((27.25, 111.46), (27.25, 111.46), time.time(), 0, unit="SY-P01-C2")
    )
    await eventually(lambda: unit.has_fix)
    await eventually(lambda: unit.status is UnitStatus.lost_contact)
    assert LOST_CONTACT._value.get() >= lost_before + 1

    await send_fixes(
        producer, topics, drive((27.25, 111.46), (27.25, 111.46), time.time(), 0, unit="SY-P01-C2")
    )
    await eventually(lambda: unit.status is UnitStatus.available)
    # dispatch sees it on units.state: excluded while lost, available again after
    await eventually(
        lambda: _ends_with(published_statuses(topics, "SY-P01-C2"), ["lost_contact", "available"])
    )


async def _ends_with(statuses: Awaitable[list[str]], tail: list[str]) -> bool:
    return (await statuses)[-len(tail) :] == tail
