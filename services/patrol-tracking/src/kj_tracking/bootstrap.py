"""Builds the tracking service: settings, city, pool, producer, consumers, tasks. Tests and
the benchmark build it with the same function (a different city is just another folder)."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from kj_runtime.consumer import consume_batches
from kj_runtime.db import create_pool
from kj_runtime.deadletters import DeadLetterSink
from kj_runtime.kafka import make_consumer, make_producer
from kj_runtime.lifecycle import sleep_or_stop
from kj_runtime.outbox import Outbox, OutboxRelay
from kj_schemas.city import City, load_city
from kj_schemas.topics import DISPATCH_WORKORDERS, PATROL_PINGS, UNITS_STATE, WORKORDERS_EVENTS
from kj_tracking.adapters.partitions import unit_partitions
from kj_tracking.adapters.state_publisher import StatePublisher
from kj_tracking.adapters.state_topic import rebuild_units
from kj_tracking.adapters.tracks import TrackWriter, drop_expired_partitions, ensure_partitions
from kj_tracking.domain.checkins import Checkpoint
from kj_tracking.domain.publication import PublishRules
from kj_tracking.domain.units import registry
from kj_tracking.domain.validation import Rules
from kj_tracking.service_layer.track_recorder import TrackRecorder
from kj_tracking.service_layer.tracker import Policy, Tracker
from kj_tracking.service_layer.work_orders import handle_work_orders, load_open_work_orders
from kj_tracking.settings import TrackingSettings

log = structlog.get_logger(__name__)
SERVICE = "patrol_tracking"


def policy_from(settings: TrackingSettings) -> Policy:
    return Policy(
        rules=Rules(
            max_future_s=settings.max_future_s,
            max_age_s=settings.max_age_s,
            max_accuracy_m=settings.max_accuracy_m,
            max_speed_kmh=settings.max_speed_kmh,
            jump_slack_m=settings.jump_slack_m,
        ),
        publish=PublishRules(min_move_m=settings.min_move_m, heartbeat_s=settings.heartbeat_s),
        arrival_radius_m=settings.arrival_radius_m,
        base_radius_m=settings.base_radius_m,
        returning_timeout_s=settings.returning_timeout_s,
        checkin_dwell_s=settings.checkin_dwell_s,
        silence_s=settings.silence_s,
    )


def checkpoints_of(city: City) -> dict[str, list[Checkpoint]]:
    grouped: dict[str, list[Checkpoint]] = {}
    for cp in city.checkpoints:
        grouped.setdefault(cp.platform, []).append(
            Checkpoint(cp.id, cp.platform, cp.lat, cp.lon, cp.radius_m)
        )
    return grouped


@dataclass
class TrackingService:
    settings: TrackingSettings
    tracker: Tracker
    producer: AIOKafkaProducer
    pool: asyncpg.Pool
    relay: OutboxRelay
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        """Restore, then consume until `stop`; closes what it opened."""
        try:
            await self.restore()
            await self.serve(stop)
        finally:
            await self.close()

    async def restore(self) -> None:
        """Before the first ping: partitions ahead, unit states from `units.state` read to
        its end, and the open work orders."""
        async with self.pool.acquire() as connection:
            await ensure_partitions(connection, datetime.now(UTC).date())
        if self.settings.role == "tracks":
            return
        await rebuild_units(self.settings.kafka, self.tracker.units)
        await load_open_work_orders(self.tracker)

    async def serve(self, stop: asyncio.Event) -> None:
        settings = self.settings
        tracks_role = settings.role == "tracks"
        pings = make_consumer(
            settings.kafka,
            PATROL_PINGS.name,
            group_id=f"{settings.group_id}-tracks" if tracks_role else settings.group_id,
            max_poll_records=settings.max_batch,
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        consumers = [pings]
        tasks: list[asyncio.Task[None]] = []
        writer = self.tracker.tracks
        if tracks_role:
            assert writer is not None
            recorder = TrackRecorder(
                registry([(u.unit_id, u.platform_id, u.kind) for u in self.tracker.units.values()]),
                self.tracker.policy.rules,
                writer,
            )
            handle = recorder.handle_pings
        else:
            handle = self.tracker.handle_pings
            orders = make_consumer(
                settings.kafka,
                DISPATCH_WORKORDERS.name,
                WORKORDERS_EVENTS.name,
                group_id=f"{settings.group_id}-workorders-{settings.instance}",
            )
            consumers.append(orders)
        for consumer in consumers:
            await consumer.start()
        self.ready.set()
        tasks.append(
            asyncio.create_task(
                consume_batches(
                    pings, handle, stop, group=settings.group_id, max_records=settings.max_batch
                )
            )
        )
        if writer is not None:
            tasks.append(asyncio.create_task(writer.run(stop)))
            tasks.append(asyncio.create_task(self._partitions(stop)))
        if not tracks_role:
            tasks.append(
                asyncio.create_task(
                    consume_batches(
                        orders,
                        lambda batch: handle_work_orders(self.tracker, batch),
                        stop,
                        group=f"{settings.group_id}-workorders-{settings.instance}",
                    )
                )
            )
            tasks.append(asyncio.create_task(self.relay.run(stop)))
            owners = await unit_partitions(
                settings.kafka, PATROL_PINGS.name, list(self.tracker.units)
            )
            tasks.append(asyncio.create_task(self._sweep(stop, pings, owners)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for consumer in consumers:
                await consumer.stop()

    async def close(self) -> None:
        await self.producer.stop()
        await self.pool.close()

    async def _sweep(
        self, stop: asyncio.Event, pings: AIOKafkaConsumer, owners: dict[int, set[str]]
    ) -> None:
        assigned: set[int] = set()
        while not stop.is_set():
            now_assigned = {tp.partition for tp in pings.assignment()}
            if now_assigned != assigned:
                assigned = now_assigned
                self.tracker.take_ownership(
                    {unit for p in assigned for unit in owners.get(p, set())}
                )
                log.info("ping_partitions_assigned", partitions=sorted(assigned))
            if assigned:
                await self.tracker.sweep()
            await sleep_or_stop(stop, self.settings.sweep_interval_s)

    async def _partitions(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self.pool.acquire() as connection:
                    today = datetime.now(UTC).date()
                    await ensure_partitions(connection, today)
                    await drop_expired_partitions(
                        connection, today, self.settings.track_retention_days
                    )
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("track_partitions_failed", error=str(error))
            await sleep_or_stop(stop, 3600)


async def bootstrap(settings: TrackingSettings, *, city: City | None = None) -> TrackingService:
    city = city or load_city(settings.city_dir)
    units = registry([(u.id, u.platform, u.kind.value) for u in city.units])
    producer = make_producer(settings.kafka, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    pool = await create_pool(settings.postgres)
    sink = DeadLetterSink(producer, service=SERVICE, topic_prefix=settings.kafka.topic_prefix)
    states = StatePublisher(producer, settings.kafka.topic(UNITS_STATE.name))

    async def dead_letter(record: ConsumerRecord, reason: str, detail: str) -> None:
        await sink.send(record, reason=reason, detail=detail)

    outbox = Outbox(stream="tracking", topic_prefix=settings.kafka.topic_prefix)
    tracker = Tracker(
        units=units,
        platforms={p.id: (p.lat, p.lon) for p in city.platforms},
        checkpoints=checkpoints_of(city),
        policy=policy_from(settings),
        publish_states=states.publish,
        dead_letter=dead_letter,
        tracks=(
            None
            if settings.role == "state"
            else TrackWriter(pool, max_rows=settings.track_queue_rows)
        ),
        pool=pool,
        outbox=outbox,
    )
    relay = OutboxRelay(pool, lambda: make_producer(settings.kafka), outbox)
    return TrackingService(settings, tracker, producer, pool, relay)
