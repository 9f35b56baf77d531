import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
import pytest

from kj_dispatch.bootstrap import build
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_dispatch.settings import DispatchSettings
from kj_runtime.host import hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.enums import UnitStatus
from tests.isolation import package_database, package_topics

from .helpers import CITY, Peers, Terminals, Watcher, east, unit_state

database = package_database()  # this package's own database and topics (tests/isolation.py)
topics = package_topics()

Start = Callable[..., AbstractAsyncContextManager[Dispatcher]]


@pytest.fixture
async def peers(topics: KafkaSettings) -> AsyncIterator[Peers]:
    async with Peers(topics) as peers:
        yield peers


@pytest.fixture
async def watcher(topics: KafkaSettings) -> AsyncIterator[Watcher]:
    async with Watcher(topics) as watcher:
        yield watcher


@pytest.fixture
async def terminals(topics: KafkaSettings, peers: Peers) -> AsyncIterator[Terminals]:
    """Every unit accepts and closes each work order it is given, at once."""
    async with Terminals(topics, peers, close_after_s=0) as terminals:
        yield terminals


@pytest.fixture
async def quiet_city(peers: Peers, db: asyncpg.Connection) -> None:
    """Every unit off duty and nothing open, so each test places the units it needs."""
    await db.execute(
        "update work_orders set status = 'closed', closed_at = now() "
        "where status in ('assigned', 'accepted', 'en_route', 'on_scene')"
    )
    await db.execute("update dispatch_alarms set state = 'done' where state <> 'done'")
    await db.execute(
        "update dispatch_repositions set status = 'withdrawn', ended_at = now(), "
        "ended_reason = 'test' where status = 'open'"
    )
    await peers.units(*(unit_state(u.id, east(0), UnitStatus.off_duty) for u in CITY.units))


@pytest.fixture
def dispatch_settings(topics: KafkaSettings, database: PostgresSettings) -> DispatchSettings:
    return DispatchSettings(
        kafka=topics,
        postgres=database,
        http_port=0,
        group_id=f"dispatch-{uuid.uuid4().hex[:8]}",
        batch_window_ms=5,
        accept_timeout_s=30,
        timer_interval_s=0.2,
        queue_retry_s=0.5,
        index_rebuild_interval_s=0.0,
    )


@pytest.fixture
def start_dispatch(dispatch_settings: DispatchSettings, quiet_city: None) -> Start:
    @asynccontextmanager
    async def start(**overrides: object) -> AsyncIterator[Dispatcher]:
        settings = dispatch_settings.model_copy(update=overrides)
        async with hosted(await build(settings)) as host:
            async with asyncio.timeout(30):
                await host.core.fleet_ready.wait()
                # the region is held: a command read before its lease is taken is left to the
                # holder (commands.handle_command), and here there is no other
                while not host.core.leases:
                    await asyncio.sleep(0.02)
            yield host.core

    return start
