"""Builds the device gateway: its wiring diagram (kj_runtime.host runs it). The 808 TCP server
and the ping sink are loops; the registry is read before anything is let in and refreshed by a
loop; work orders for 808-only vehicles come through the runtime's consume surface."""

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from kj_devices.adapters import registry_store
from kj_devices.adapters.event_sink import EventSink
from kj_devices.adapters.ping_sink import PingSink
from kj_devices.domain.binding import Binding
from kj_devices.entrypoints.http import make_app
from kj_devices.entrypoints.jt808_server import Jt808Server, Limits
from kj_devices.service_layer.locations import Locations
from kj_devices.service_layer.registry import keep_fresh, refresh
from kj_devices.service_layer.terminals import Terminals
from kj_devices.settings import DevicesSettings
from kj_runtime.consume import Route, Subscription
from kj_runtime.db import create_pool
from kj_runtime.host import Service
from kj_runtime.kafka import make_producer
from kj_schemas.topics import DISPATCH_WORKORDERS, PATROL_PINGS
from kj_schemas.workorders import WorkOrder

SERVICE = "devices"


@dataclass
class Devices:
    """What tests and the benchmark reach into: the parts, as wired."""

    settings: DevicesSettings
    terminals: Terminals
    jt808: Jt808Server
    pings: PingSink
    locations: Locations
    pool: asyncpg.Pool


async def build(settings: DevicesSettings) -> Service[Devices]:
    # pings leave in record batches (one per partition per flush): linger adds nothing
    producer = make_producer(settings.kafka, linger_ms=0, max_batch_size=512 * 1024)
    await producer.start()
    try:
        pool = await create_pool(settings.postgres)
    except BaseException:
        await producer.stop()
        raise
    sink = PingSink(
        producer,
        settings.kafka.topic(PATROL_PINGS.name),
        max_queued=settings.ping_queue_max,
        flush_s=settings.ping_flush_ms / 1000,
    )
    terminals = Terminals(
        sink=sink,
        publish_event=EventSink(producer, settings.kafka).publish,
        hold_s=settings.text_hold_s,
    )
    server = Jt808Server(
        terminals,
        host=settings.jt808_host,
        port=settings.jt808_port,
        limits=Limits(
            utc_offset=timedelta(minutes=settings.jt808_utc_offset_minutes),
            auth_timeout_s=settings.jt808_auth_timeout_s,
            idle_timeout_s=settings.jt808_idle_timeout_s,
            write_limit_bytes=settings.jt808_write_limit_bytes,
            max_bad_frames=settings.jt808_max_bad_frames,
        ),
    )
    sink.on_drained = server.release
    locations = Locations(terminals, settings)
    devices = Devices(settings, terminals, server, sink, locations, pool)

    async def load() -> dict[str, Binding]:
        return await registry_store.load(pool)

    async def fingerprint() -> tuple[int, int]:
        return await registry_store.fingerprint(pool)

    async def postgres() -> bool:
        return bool(await pool.fetchval("select 1"))

    async def registry_loaded() -> bool:
        return terminals.loaded

    service: Service[Devices] = Service(
        SERVICE,
        settings,
        core=devices,
        app=make_app(locations),
        producer=producer,
        checks={"postgres": postgres, "registry": registry_loaded},
    )
    service.resources.push_async_callback(producer.stop)
    service.resources.push_async_callback(pool.close)
    service.restore.append(lambda: refresh(terminals, load))
    service.restore.append(sink.prepare)
    service.loops["jt808"] = server.run
    service.loops["pings"] = sink.run
    service.loops["registry"] = lambda stop: keep_fresh(
        terminals, load, fingerprint, stop, settings.registry_refresh_s
    )
    service.subscriptions.append(
        Subscription(
            "workorders",
            f"{settings.group_id}-workorders-{settings.instance}",
            (Route.of(DISPATCH_WORKORDERS.name, WorkOrder, terminals.handle_work_orders),),
        )
    )
    return service
