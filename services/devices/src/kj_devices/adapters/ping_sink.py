"""Fixes from every connection into `patrol.pings`, keyed by unit, in record batches (the
runtime's keyed batch publisher): one flush every few milliseconds carries whatever the
terminals sent meanwhile. The queue is bounded: during a broker outage the newest fixes past the
bound are dropped and counted (the terminal has its answer already; tracking keeps the latest
position anyway, and a terminal's blind-area batch fills the gap when it reconnects)."""

import asyncio
from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from kj_devices.adapters.ping_codec import encode_ping
from kj_devices.domain.fixes import Fix
from kj_devices.metrics import DROPPED, PUBLISHED
from kj_runtime.batch_publisher import KeyedBatchPublisher
from kj_runtime.lifecycle import sleep_or_stop

log = structlog.get_logger(__name__)


class PingSink:
    def __init__(
        self, producer: AIOKafkaProducer, topic: str, *, max_queued: int, flush_s: float
    ) -> None:
        self.publisher = KeyedBatchPublisher(producer, topic)
        self.max_queued = max_queued
        self.flush_s = flush_s
        self._queue: list[Fix] = []
        self._wake = asyncio.Event()
        self.published = 0
        self.max_flush = 20_000  # records per flush, at most: one flush never holds the rest
        self.on_drained: Callable[[], None] | None = None  # told when the queue is short again

    def put(self, fixes: list[Fix]) -> None:
        room = self.max_queued - len(self._queue)
        if len(fixes) > room:
            DROPPED.labels("queue_full").inc(len(fixes) - max(room, 0))
            fixes = fixes[: max(room, 0)]
        self._queue.extend(fixes)
        self._wake.set()

    async def prepare(self) -> None:
        """Learns the topic's partitions before the first terminal is let in, so the first
        flush does not wait for a metadata answer under load."""
        await self.publisher.producer.partitions_for(self.publisher.topic)

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.1
        while not stop.is_set() or self._queue:
            if not self._queue:
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopping}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopping.cancel()
                continue
            batch = self._queue[: self.max_flush]
            records = [(fix.unit_id, encode_ping(fix)) for fix in batch]
            try:
                await self.publisher.publish(records)
            except KafkaError as error:
                if stop.is_set():
                    log.warning("pings_lost_at_stop", count=len(batch), error=repr(error))
                    return
                log.warning("pings_not_published_will_retry", count=len(batch), error=repr(error))
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            del self._queue[: len(batch)]
            self.published += len(batch)
            PUBLISHED.inc(len(batch))
            if self.on_drained is not None and len(self._queue) < self.max_flush:
                self.on_drained()
            await sleep_or_stop(stop, self.flush_s)
