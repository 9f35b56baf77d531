"""The device gateway (and patrol tracking, for `units.state`) built in-process against this
package's own topics and database, with devices bound in the registry table."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import orjson
import pytest

from kj_devices.adapters import registry_store
from kj_devices.bootstrap import Devices, build
from kj_devices.domain.binding import Protocol
from kj_devices.domain.coords import Datum
from kj_devices.settings import DevicesSettings
from kj_runtime.db import connect
from kj_runtime.host import Host
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.topics import PATROL_PINGS
from kj_sim.jt808_terminal import Jt808Terminal
from kj_sim.services import free_port
from tests.isolation import package_database, package_topics
from tests.stack import read_to_end

database = package_database()
topics = package_topics()


@dataclass
class Gateway:
    host: Host[Devices]
    http_url: str

    @property
    def core(self) -> Devices:
        return self.host.core

    @property
    def port(self) -> int:
        return self.core.jt808.port


@pytest.fixture(scope="package")
async def gateway(topics: KafkaSettings, database: PostgresSettings) -> AsyncIterator[Gateway]:
    settings = DevicesSettings(
        kafka=topics,
        postgres=database,
        http_port=free_port(),
        jt808_port=0,
        registry_refresh_s=0.2,
        group_id=f"devices-{uuid.uuid4().hex[:6]}",
        jt808_auth_timeout_s=3,
    )
    host = Host(await build(settings), asyncio.Event())
    async with asyncio.timeout(60):
        await host.start()
        await host.core.jt808.listening.wait()
    yield Gateway(host, f"http://127.0.0.1:{settings.http_port}")
    async with asyncio.timeout(30):
        await host.close()


@pytest.fixture
async def db(database: PostgresSettings) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect(database)
    yield connection
    await connection.close()


Bind = Callable[..., Awaitable[registry_store.Added]]


@pytest.fixture
async def bind(db: asyncpg.Connection, gateway: Gateway) -> Bind:
    """Binds a device in the registry and waits until the gateway has read it."""

    async def add(
        device_id: str,
        unit_id: str,
        *,
        protocol: Protocol = Protocol.jt808,
        datum: Datum = Datum.wgs84,
        text_dispatch: bool = False,
    ) -> registry_store.Added:
        added = await registry_store.add(
            db,
            protocol=protocol,
            device_id=device_id,
            unit_id=unit_id,
            datum=datum,
            text_dispatch=text_dispatch,
        )
        await eventually(lambda: gateway.core.terminals.lookup(added.device_id) is not None)
        return added

    return add


@pytest.fixture
async def terminals() -> AsyncIterator[Callable[..., Jt808Terminal]]:
    made: list[Jt808Terminal] = []

    def make(number: str, **kw: object) -> Jt808Terminal:
        terminal = Jt808Terminal(number, **kw)  # type: ignore[arg-type]
        made.append(terminal)
        return terminal

    yield make
    for terminal in made:
        await terminal.close()


def number() -> str:
    return "139" + str(uuid.uuid4().int)[:8]


async def eventually(condition: Callable[[], object], *, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


async def pings_of(kafka: KafkaSettings, unit_id: str) -> list[dict[str, object]]:
    """The unit's pings on patrol.pings, in partition order (one unit: one partition)."""
    records = await read_to_end(kafka, kafka.topic(PATROL_PINGS.name))
    return [orjson.loads(r.value) for r in records if r.key == unit_id.encode()]
