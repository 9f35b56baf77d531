"""The simulator drives the real broker as 2,000 terminals would."""

import asyncio

import numpy as np
import orjson

from kj_runtime.kafka import create_topics, delete_topics, make_consumer, make_producer
from kj_runtime.settings import KafkaSettings
from kj_schemas.city import load_city
from kj_schemas.topics import PATROL_PINGS
from kj_sim.fleet import Fleet, scaled_city
from kj_sim.pings import PingPublisher
from kj_sim.runner import Simulation

from ...stack import SAMPLE_CITY


async def test_two_thousand_units_each_ping_once_a_second(topics: KafkaSettings) -> None:
    # a topic of its own: the services' tests must not see 8,000 pings of units they don't know
    topics = topics.model_copy(update={"topic_prefix": f"{topics.topic_prefix}sim."})
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
