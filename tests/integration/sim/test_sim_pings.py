"""The simulator drives the real broker as 2,000 terminals would."""

import asyncio
from datetime import datetime

import numpy as np
import orjson
import pytest

from kj_runtime.kafka import create_topics, delete_topics, make_consumer, make_producer
from kj_runtime.settings import KafkaSettings
from kj_schemas.city import load_city
from kj_schemas.topics import PATROL_PINGS
from kj_sim.fleet import Fleet, scaled_city
from kj_sim.pings import PingPublisher
from kj_sim.runner import Simulation

from ...stack import SAMPLE_CITY


@pytest.mark.parametrize("slices", [1, 10])
async def test_two_thousand_units_each_ping_once_a_second(
    topics: KafkaSettings, slices: int
) -> None:
    """With `ping_slices` the second's pings leave in that many slices over the second, each
    stamped when it leaves (a province's devices, each at its own moment), every unit still
    once a second."""
    # a topic of its own: the services' tests must not see 8,000 pings of units they don't know
    topics = topics.model_copy(update={"topic_prefix": f"{topics.topic_prefix}sim{slices}."})
    await create_topics(topics, (PATROL_PINGS,))
    city = scaled_city(load_city(SAMPLE_CITY), 2000)
    producer = make_producer(topics, linger_ms=20)
    await producer.start()
    try:
        simulation = Simulation(
            city,
            fleet=Fleet(city, np.random.default_rng(1)),
            alarms=None,
            pings=PingPublisher(producer, topics.topic(PATROL_PINGS.name)),
            poster=None,
            terminals=None,
            ping_slices=slices,
        )
        stats = await simulation.run(asyncio.Event(), duration_s=4)
    finally:
        await producer.stop()

    consumer = make_consumer(topics, PATROL_PINGS.name, group_id=None)
    await consumer.start()
    per_unit: dict[str, set[str]] = {}
    try:
        async with asyncio.timeout(30):
            while sum(len(v) for v in per_unit.values()) < 8000:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        ping = orjson.loads(record.value)
                        per_unit.setdefault(ping["unit_id"], set()).add(ping["ts"])
    finally:
        await consumer.stop()
        await delete_topics(topics, [topics.topic(PATROL_PINGS.name)])
    assert len(per_unit) == 2000
    assert {len(stamps) for stamps in per_unit.values()} == {4}
    assert stats.lag.summary()["ticks"] == 4
    stamps = sorted({datetime.fromisoformat(ts) for ts in set().union(*per_unit.values())})
    assert len(stamps) == 4 * slices
    seconds = [stamps[k : k + slices] for k in range(0, len(stamps), slices)]
    # each slice waits for its moment, so a second's last slice leaves at least 0.9 s after its
    # first (less the first slice's encoding): spread, not sent at the top of the second
    spread = [(second[-1] - second[0]).total_seconds() for second in seconds]
    assert all(s >= 0.8 for s in spread) if slices > 1 else spread == [0.0] * 4
