"""How far, in time, a subscription has read (`ReadUpTo`), without a broker: it moves to the
last fetch answer once every assigned partition is handled to the end that answer gave, and
stands still while no answer comes (the broker is away) or while a partition is behind."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import TopicPartition

from kj_runtime.consume import Consumer, ReadUpTo, Route, Subscription
from kj_runtime.settings import KafkaSettings
from kj_schemas.workorders import WorkOrderEvent

from .test_consume import Sink

TP = TopicPartition("workorders.events", 0)


@dataclass
class Fetch:
    """What the broker's last answer said (None: no answer yet) and the consumer's position."""

    polled_s: float | None
    end: int | None
    position: int


class ScriptedConsumer:
    """An aiokafka consumer whose fetch answers follow a script, one per loop round."""

    def __init__(self, script: list[Fetch], stop: asyncio.Event, mark: ReadUpTo) -> None:
        self.script, self.stop, self.mark = script, stop, mark
        self.now: Fetch | None = None
        self.seen: list[float | None] = []  # `mark.until` after each round

    async def start(self) -> None:
        return None

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[object, list[object]]:
        if self.now is not None:
            self.seen.append(self.mark.until)
        if not self.script:
            self.stop.set()
        else:
            self.now = self.script.pop(0)
        return {}

    def last_stable_offset(self, partition: TopicPartition) -> int | None:
        return None if self.now is None else self.now.end

    def last_poll_timestamp(self, partition: TopicPartition) -> int | None:
        polled = None if self.now is None else self.now.polled_s
        return None if polled is None else int(polled * 1000)

    async def position(self, partition: TopicPartition) -> int:
        assert self.now is not None
        return self.now.position


async def read_marks(script: list[Fetch]) -> list[float | None]:
    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        return None

    stop, mark = asyncio.Event(), ReadUpTo()
    route = Route.of("workorders.events", WorkOrderEvent, handle)
    sub = Subscription("events", "g", (route,), read_up_to=mark)
    consumer = ScriptedConsumer(script, stop, mark)
    runner = Consumer(sub, consumer, Sink(), KafkaSettings())  # type: ignore[arg-type]
    await runner.run(stop)
    return consumer.seen


async def test_read_up_to_follows_the_fetches_and_stands_still_while_the_broker_is_away() -> None:
    marks = await read_marks(
        [
            Fetch(polled_s=None, end=None, position=0),  # no answer from the broker yet
            Fetch(polled_s=100.0, end=5, position=5),  # read to the end at 100
            Fetch(polled_s=101.0, end=5, position=5),
            Fetch(polled_s=101.0, end=5, position=5),  # the broker is away: no new answer
            Fetch(polled_s=101.0, end=5, position=5),
            Fetch(polled_s=140.0, end=9, position=6),  # back, with answers not handled yet
            Fetch(polled_s=140.5, end=9, position=9),  # handled to the end
        ]
    )
    assert marks == [None, 100.0, 101.0, 101.0, 101.0, 101.0, 140.5]
