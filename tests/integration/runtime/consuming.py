"""Records onto `workorders.events` and a service that consumes them with the runtime's loop,
for the runtime's tests."""

import asyncio

from kj_runtime.consume import Route, Subscription
from kj_runtime.host import Service
from kj_runtime.kafka import make_producer
from kj_runtime.settings import KafkaSettings, ServiceSettings
from kj_schemas.topics import WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrderEvent


async def produce(topics: KafkaSettings, *values: tuple[str, bytes]) -> None:
    producer = make_producer(topics, max_request_size=2_000_000)
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(
                topics.topic(WORKORDERS_EVENTS.name), value, key=key.encode(), partition=0
            )
    finally:
        await producer.stop()


async def until(condition: object, deadline_s: float = 30) -> None:
    async with asyncio.timeout(deadline_s):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)


def service_with(topics: KafkaSettings, handle: object, group: str, **kw: object) -> Service[None]:
    route = Route.of(WORKORDERS_EVENTS.name, WorkOrderEvent, handle)  # type: ignore[arg-type]
    return Service(
        "test",
        ServiceSettings(kafka=topics, http_port=0),
        core=None,
        subscriptions=[Subscription("events", group, (route,), **kw)],  # type: ignore[arg-type]
    )
