"""A fetch that never returns does not stop a partition: aiokafka's getmany waits for a
rebalance with no bound, and after a broker restart it may hold a coordination error
(GroupLoadInProgress in SyncGroup) for the next call while the group waits for that error to
be read, so the fetch in progress waited forever and three poison records behind it were
never handled (a chaos run, decision 0157). The loop bounds each fetch, reads the held error
on the next call, retries it, and goes on; an error that lasts ends the task."""

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from kj_runtime.consume import Consumer, Route, Subscription
from kj_runtime.settings import KafkaSettings
from kj_schemas.workorders import WorkOrderEvent

from .test_consume import Record, Sink

TP = TopicPartition("workorders.events", 0)
HELD = KafkaError("Unexpected error during coordination GroupLoadInProgressError")


class StallingConsumer:
    """An aiokafka consumer as it behaves across a broker restart: the first fetch waits for an
    assignment that comes only once the held coordination error is read, the next call raises
    that error, then the poison record arrives."""

    def __init__(self, stop: asyncio.Event, *, error_forever: bool = False) -> None:
        self.stop = stop
        self.error_forever = error_forever
        self.calls = 0
        self.committed: list[dict[TopicPartition, int]] = []
        self._never = asyncio.Event()

    async def start(self) -> None:
        return None

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def highwater(self, partition: TopicPartition) -> int | None:
        return None

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[object, list[object]]:
        self.calls += 1
        if self.error_forever:
            raise HELD
        if self.calls == 1:
            await self._never.wait()  # waits for an assignment held behind the error
        if self.calls == 2:
            raise HELD
        if self.calls == 3:
            return {TP: [Record(b'{"not": "an event"}', topic=TP.topic, offset=7)]}
        self.stop.set()
        return {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.append(dict(offsets))


def runner(consumer: StallingConsumer, sink: Sink, **options: float) -> Consumer:
    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        return None

    sub = Subscription("events", "g", (Route.of("workorders.events", WorkOrderEvent, handle),))
    return Consumer(sub, consumer, sink, KafkaSettings(), **options)  # type: ignore[arg-type]


async def test_a_fetch_that_never_returns_is_given_up_and_the_held_error_retried() -> None:
    stop, sink = asyncio.Event(), Sink()
    consumer = StallingConsumer(stop)
    await asyncio.wait_for(runner(consumer, sink, fetch_grace_s=0.05).run(stop), 10)
    assert sink.letters == [(7, "schema")]  # the poison behind the stall is dead-lettered
    assert consumer.committed == [{TP: 8}]  # and its partition moves on


async def test_a_fetch_error_that_lasts_ends_the_task() -> None:
    stop, sink = asyncio.Event(), Sink()
    consumer = StallingConsumer(stop, error_forever=True)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(runner(consumer, sink, fetch_give_up_s=0.0).run(stop), 10)
    assert consumer.calls == 2  # retried once after the backoff, then given up
