"""Alarms recorded by dispatch as they come off the topic: each once, however they repeat."""

import json

import asyncpg

from kj_dispatch.adapters import repository as repo

from .helpers import alarm, east


async def test_a_batch_records_each_alarm_once_and_tells_a_replay_from_a_new_alarm(
    db: asyncpg.Connection,
) -> None:
    robbery, theft, fight = alarm(east(0), priority=1), alarm(east(100)), alarm(east(200))

    new, seen = await repo.record_received(db, [robbery, theft, robbery])
    assert [a.alarm_id for a in new] == [robbery.alarm_id, theft.alarm_id]
    assert seen == []  # the same alarm twice in one batch is one alarm, not a replay

    new, seen = await repo.record_received(db, [theft, fight])  # theft replayed after a crash
    assert [a.alarm_id for a in new] == [fight.alarm_id]
    assert [a.alarm_id for a in seen] == [theft.alarm_id]

    rows = await db.fetch(
        "select alarm_id, region, priority, state, body::text as body from dispatch_alarms "
        "where alarm_id = any($1::uuid[]) order by priority, received_at",
        [robbery.alarm_id, theft.alarm_id, fight.alarm_id],
    )
    assert len(rows) == 3
    assert {r["state"] for r in rows} == {"pending"}
    by_id = {r["alarm_id"]: r for r in rows}
    assert by_id[robbery.alarm_id]["priority"] == 1
    assert by_id[fight.alarm_id]["region"] == fight.region
    assert json.loads(by_id[fight.alarm_id]["body"]) == json.loads(fight.model_dump_json())
