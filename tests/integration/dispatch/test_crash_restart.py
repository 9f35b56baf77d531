"""A dispatch process killed with SIGKILL in the middle of a burst, more alarms arriving while it
is down, then started again: every alarm gets exactly one primary work order, no unit ever holds
two open ones, and the work orders open at the crash are closed through the new process."""

import asyncio
import random
from uuid import uuid4

import asyncpg
import pytest

from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.enums import AlarmCategory
from kj_sim.services import free_port

from .helpers import CITY, Peers, Terminals, alarm, east, unit_state
from .processes import spawn_dispatch, stop, wait_ready

ALARMS = 120
CATEGORIES = [AlarmCategory.theft, AlarmCategory.fight, AlarmCategory.dispute]


@pytest.mark.slow
async def test_a_killed_dispatcher_restarts_without_losing_or_doubling_an_alarm(
    topics: KafkaSettings,
    database: PostgresSettings,
    quiet_city: None,
    peers: Peers,
    db: asyncpg.Connection,
) -> None:
    rng = random.Random(7)
    await peers.units(
        *(
            unit_state(u.id, east(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)))
            for u in CITY.units
        )
    )
    alarms = [
        alarm(
            east(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)),
            priority=rng.randint(1, 4),
            category=rng.choice(CATEGORIES),
        )
        for _ in range(ALARMS)
    ]
    group = f"dispatch-{uuid4().hex[:6]}"
    async with Terminals(topics, peers, close_after_s=1.0) as terminals:
        port = free_port()
        first = spawn_dispatch(topics, database, port=port, group_id=group)
        try:
            await wait_ready(port)
            for a in alarms[: ALARMS // 2]:
                await peers.alarm(a)
            async with asyncio.timeout(60):  # in the middle: orders out, more being made
                while terminals.answered < 20:
                    await asyncio.sleep(0.01)
        finally:
            first.kill()
            first.wait()
        for a in alarms[ALARMS // 2 :]:  # accepted while dispatch is down
            await peers.alarm(a)
        port = free_port()
        second = spawn_dispatch(topics, database, port=port, group_id=group)
        try:
            await wait_ready(port)
            ids = [a.alarm_id for a in alarms]
            async with asyncio.timeout(180):
                while await db.fetchval(
                    "select count(distinct alarm_id) from work_orders where alarm_id = any($1) "
                    "and role = 'primary' and status = 'closed'",
                    ids,
                ) < len(ids) or await db.fetchval(
                    "select count(*) from work_orders where alarm_id = any($1) and status in "
                    "('assigned', 'accepted', 'en_route', 'on_scene')",
                    ids,
                ):
                    await asyncio.sleep(0.5)
        finally:
            stop(second)
    primaries = await db.fetch(
        """select alarm_id, count(*) as n from work_orders
           where alarm_id = any($1) and role = 'primary' and status not in ('withdrawn', 'rejected')
           group by alarm_id""",
        ids,
    )
    assert sorted(r["n"] for r in primaries) == [1] * ALARMS
    overlapping = await db.fetchval(
        """select count(*) from work_orders a join work_orders b
             on a.unit_id = b.unit_id and a.work_order_id < b.work_order_id
           where a.alarm_id = any($1) and b.alarm_id = any($1)
             and tstzrange(a.issued_at, coalesce(a.closed_at, a.withdrawn_at, 'infinity'))
              && tstzrange(b.issued_at, coalesce(b.closed_at, b.withdrawn_at, 'infinity'))""",
        ids,
    )
    assert overlapping == 0
    assert (
        await db.fetchval(
            "select count(*) from dispatch_alarms where alarm_id = any($1) and state <> 'done'", ids
        )
        == 0
    )
