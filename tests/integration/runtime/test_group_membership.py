"""Static group membership (decision 0100): a service killed and started again under the same
name (`KJ_KAFKA_GROUP_INSTANCE`, the pod's name) takes its partitions back at once instead of
waiting for the dead process's session to expire, and a clean stop still hands its partitions
to the others at once. Both against the real broker, with a session timeout long enough that
waiting it out could not pass for either."""

import asyncio
import signal
import sys
import time
import uuid

from aiokafka import AIOKafkaConsumer

from kj_runtime.kafka import make_consumer, partitions_of, stop_consumer
from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import WORKORDERS_EVENTS

SESSION_MS = 20_000
# joining in place takes a few round trips; waiting out the dead member takes at least
# SESSION_MS less one heartbeat interval (1 s)
WITHIN_S = 8.0

# a member in a process of its own, to be killed without a word to the group
MEMBER = """
import asyncio, sys
from kj_runtime.kafka import make_consumer
from kj_runtime.settings import KafkaSettings

async def main(bootstrap, topic, group, instance, session_ms):
    settings = KafkaSettings(bootstrap_servers=bootstrap, group_instance=instance)
    consumer = make_consumer(
        settings, topic, group_id=group, session_timeout_ms=int(session_ms),
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    print("joined", flush=True)
    await asyncio.sleep(600)

asyncio.run(main(*sys.argv[1:]))
"""


def member(settings: KafkaSettings, group: str) -> AIOKafkaConsumer:
    return make_consumer(
        settings,
        WORKORDERS_EVENTS.name,
        group_id=group,
        session_timeout_ms=SESSION_MS,
        heartbeat_interval_ms=1000,
    )


async def test_a_member_killed_and_restarted_under_its_name_gets_its_partitions_at_once(
    topics: KafkaSettings,
) -> None:
    run = uuid.uuid4().hex[:6]
    group, instance = topics.group(f"static-{run}"), f"alarm-{run}"
    topic = topics.topic(WORKORDERS_EVENTS.name)
    crashed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        MEMBER,
        topics.bootstrap,
        topic,
        group,
        instance,
        str(SESSION_MS),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert crashed.stdout is not None
        line = await asyncio.wait_for(crashed.stdout.readline(), 60)
        assert line.strip() == b"joined"
        crashed.send_signal(signal.SIGKILL)  # no LeaveGroup: its place stays in the group
        await crashed.wait()
        restarted = member(topics.model_copy(update={"group_instance": instance}), group)
        began = time.monotonic()
        await restarted.start()  # returns once the group has assigned it partitions
        took = time.monotonic() - began
        try:
            assigned = restarted.assignment()
        finally:
            await stop_consumer(restarted)
    finally:
        if crashed.returncode is None:
            crashed.kill()
            await crashed.wait()
    assert assigned == set(await partitions_of(topics, topic))
    assert took < WITHIN_S, f"joined after {took:.1f} s: it waited out the dead member's session"


async def test_a_static_member_that_stops_cleanly_hands_its_partitions_over_at_once(
    topics: KafkaSettings,
) -> None:
    run = uuid.uuid4().hex[:6]
    group = topics.group(f"static-{run}")
    topic = topics.topic(WORKORDERS_EVENTS.name)
    everything = set(await partitions_of(topics, topic))
    leaving = member(topics.model_copy(update={"group_instance": f"a-{run}"}), group)
    staying = member(topics.model_copy(update={"group_instance": f"b-{run}"}), group)
    await leaving.start()
    try:
        await staying.start()
        async with asyncio.timeout(30):  # both members in one generation
            while staying.assignment() in (set(), everything):
                await staying.getmany(timeout_ms=100)
        began = time.monotonic()
        await stop_consumer(leaving)
        async with asyncio.timeout(SESSION_MS / 1000 + 10):
            while staying.assignment() != everything:
                await staying.getmany(timeout_ms=100)
        took = time.monotonic() - began
    finally:
        await stop_consumer(leaving)
        await stop_consumer(staying)
    assert took < WITHIN_S, f"handed over after {took:.1f} s: the leaving member kept its place"
