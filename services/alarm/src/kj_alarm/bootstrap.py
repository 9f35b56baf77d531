"""The one place that builds the alarm service: settings → pool, classifier, outbox relay,
HTTP app, Kafka consumers. Tests build the same service with the same function."""

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI

from kj_alarm.adapters import alarm_store
from kj_alarm.adapters.relay import LingeringRelay
from kj_alarm.domain.duplicates import MergeRule
from kj_alarm.domain.tiers import TierClassifier
from kj_alarm.entrypoints.http import create_app
from kj_alarm.entrypoints.kafka_intake import KafkaIntake
from kj_alarm.entrypoints.workorder_events import WorkOrderTimeline
from kj_alarm.service_layer.deps import Deps, GroupCommit
from kj_alarm.settings import AlarmSettings
from kj_runtime import heap
from kj_runtime.consumer import consume_batches
from kj_runtime.db import create_pool
from kj_runtime.deadletters import DeadLetterSink
from kj_runtime.http_ops import add_ops_routes
from kj_runtime.kafka import make_consumer, make_producer
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.city import load_city
from kj_schemas.enums import ResponseTier
from kj_schemas.topics import (
    ALARMS_INTAKE,
    DISPATCH_COMMAND_RESULTS,
    DISPATCH_WORKORDERS,
    WORKORDERS_EVENTS,
)

SERVICE = "alarm"


def classifier_for(settings: AlarmSettings) -> tuple[TierClassifier, str]:
    city = load_city(settings.city_dir)
    targets = dict(city.targets)
    if settings.county_target_seconds is not None:
        targets[ResponseTier.county] = settings.county_target_seconds
    return TierClassifier(city.zones, targets), city.region


@dataclass
class AlarmService:
    settings: AlarmSettings
    deps: Deps
    app: FastAPI
    relay: OutboxRelay
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    closers: list[Any] = field(default_factory=list)
    pools: list[asyncpg.Pool] = field(default_factory=list)

    async def start_background(self, stop: asyncio.Event, *, consumers: bool = True) -> None:
        """The outbox relay and (unless turned off) the Kafka consumers, as tasks."""
        self.tasks.append(asyncio.create_task(self.relay.run(stop), name="outbox-relay"))
        if not consumers:
            return
        kafka = self.settings.kafka
        producer = make_producer(kafka)
        await producer.start()
        self.closers.append(producer.stop)
        dead = DeadLetterSink(producer, service=SERVICE, topic_prefix=kafka.topic_prefix)
        if self.settings.consume_intake:
            consumer = make_consumer(kafka, ALARMS_INTAKE.name, group_id="alarm-intake")
            intake = KafkaIntake(self.deps, dead, set(self.settings.integrations))
            await self._consume(consumer, intake.handle, stop, "alarm-intake")
        if self.settings.consume_workorders:
            topics = (
                DISPATCH_WORKORDERS.name,
                WORKORDERS_EVENTS.name,
                DISPATCH_COMMAND_RESULTS.name,  # dispatchers' commands, with who gave them
            )
            consumer = make_consumer(kafka, *topics, group_id="alarm-timeline")
            timeline = WorkOrderTimeline(self.deps, dead, kafka.topic_prefix)
            await self._consume(consumer, timeline.handle, stop, "alarm-timeline")

    async def _consume(self, consumer: Any, handle: Any, stop: asyncio.Event, group: str) -> None:
        await consumer.start()
        retriable = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
        task = asyncio.create_task(
            consume_batches(consumer, handle, stop, group=group, retriable=retriable), name=group
        )
        self.tasks.append(task)
        self.closers.insert(0, consumer.stop)

    async def close(self) -> None:
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        for close in self.closers:
            with contextlib.suppress(Exception):
                await close()
        if self.deps.writer is not None:
            await self.deps.writer.close()
        await self.deps.pool.close()
        for pool in self.pools:
            await pool.close()


async def build(settings: AlarmSettings) -> AlarmService:
    classifier, region = classifier_for(settings)
    pool = await create_pool(settings.postgres, timeout=5, reset=alarm_store.light_reset)
    # the relay holds a session advisory lock and a LISTEN: its own pool, with the full reset
    relay_pool = await create_pool(settings.postgres, min_size=1, max_size=2, timeout=5)
    outbox = Outbox(SERVICE, topic_prefix=settings.kafka.topic_prefix)
    rule = MergeRule(settings.merge_distance_m, settings.merge_window_s)
    group_commit = GroupCommit(
        writers=settings.intake_writers,
        max_batch=settings.intake_max_batch,
        linger_s=settings.intake_linger_ms / 1000,
    )
    deps = Deps(
        pool=pool,
        classifier=classifier,
        region=region,
        outbox=outbox,
        merge_rule=rule,
        group_commit=group_commit,
    )
    app = create_app(settings, deps)

    async def database_answers() -> bool:
        return bool(await pool.fetchval("select true", timeout=2))

    add_ops_routes(app, {"postgres": database_answers})
    relay = LingeringRelay(
        relay_pool,
        lambda: make_producer(settings.kafka),
        outbox,
        linger_s=settings.relay_linger_ms / 1000,
    )
    service = AlarmService(settings, deps, app, relay)
    service.pools.append(relay_pool)
    return service


async def run(settings: AlarmSettings, stop: asyncio.Event) -> None:
    service = await build(settings)
    heap.settle()  # what start-up built lives as long as the process
    try:
        await service.start_background(stop)
        config = uvicorn.Config(
            service.app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        server.should_exit = True
        await serving
    finally:
        stop.set()
        await service.close()
