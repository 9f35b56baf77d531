"""The service host and its consume loop across rebalances, against the real broker: an owner
is told of every assignment the group hands its consumer, the same partitions again included
(a dispatch replica paused past its session rejoins and may get its region back, after another
replica held it); and a process restarted after a crash serves before its consumers have their
partitions, which wait out the dead process's session."""

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import Sequence

import httpx

from kj_runtime.consume import Assignment
from kj_runtime.host import Host, hosted
from kj_runtime.kafka import make_consumer, stop_consumer
from kj_runtime.settings import KafkaSettings
from kj_schemas.codec import encode
from kj_schemas.topics import ALARMS_ACCEPTED, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrderEvent
from tests.unit.runtime.messages import event

from .consuming import produce, service_with, until

SESSION_MS = 20_000

# a member of the group in a process of its own, killed without a word to the group
DYING_MEMBER = """
import asyncio, sys
from kj_runtime.kafka import make_consumer
from kj_runtime.settings import KafkaSettings

async def main(bootstrap, topic, group, session_ms):
    consumer = make_consumer(
        KafkaSettings(bootstrap_servers=bootstrap), topic, group_id=group,
        session_timeout_ms=int(session_ms), heartbeat_interval_ms=1000,
    )
    await consumer.start()
    print("joined", flush=True)
    await asyncio.sleep(600)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_an_owner_is_told_again_when_a_rebalance_gives_back_the_same_partitions(
    topics: KafkaSettings,
) -> None:
    told: list[Assignment] = []

    async def on_assigned(assignment: Assignment) -> None:
        told.append(assignment)

    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        return None

    group = topics.group(f"g-{uuid.uuid4().hex[:6]}")
    service = service_with(
        topics, handle, group, on_assigned=on_assigned, options={"heartbeat_interval_ms": 500}
    )
    async with hosted(service, http=False):
        await until(lambda: len(told) == 1)
        # another member joins the group for another topic: a rebalance, after which this
        # consumer holds exactly what it held before
        other = make_consumer(topics, ALARMS_ACCEPTED.name, group_id=group)
        await other.start()
        try:
            await until(lambda: len(told) == 2)
        finally:
            await stop_consumer(other)
    assert told[1] == told[0] and told[0]


async def test_a_service_restarted_after_a_crash_serves_before_its_group_lets_it_in(
    topics: KafkaSettings,
) -> None:
    run = uuid.uuid4().hex[:6]
    group = topics.group(f"g-{run}")
    crashed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DYING_MEMBER,
        topics.bootstrap,
        topics.topic(WORKORDERS_EVENTS.name),
        group,
        str(SESSION_MS),
        stdout=asyncio.subprocess.PIPE,
    )
    assert crashed.stdout is not None
    assert (await asyncio.wait_for(crashed.stdout.readline(), 60)).strip() == b"joined"
    crashed.send_signal(signal.SIGKILL)  # its member stays in the group until its session ends
    await crashed.wait()
    seen: list[str] = []

    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        seen.extend(e.unit_id for e in events)

    service = service_with(topics, handle, group)
    host = Host(service, asyncio.Event())
    began = time.monotonic()
    await host.start(http=False, before_joining=True)
    try:
        assert service.app is not None
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            ready = await client.get("/readyz")
        took = time.monotonic() - began
        assert ready.status_code == 200
        assert took < 8.0, f"ready {took:.1f} s after the start: it waited for the group"
        unit = f"U-{run}"
        await produce(topics, (unit, encode(event(unit))))
        await until(lambda: unit in seen, deadline_s=SESSION_MS / 1000 + 30)
    finally:
        await host.close()
