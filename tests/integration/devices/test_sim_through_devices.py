"""The simulator's fleet through the real device paths: cars over 808, motorcycles over HTTP."""

from datetime import UTC, datetime

import asyncpg
import numpy as np

from kj_runtime.settings import KafkaSettings
from kj_schemas.city import load_city
from kj_schemas.enums import UnitKind
from kj_sim.device_paths import DevicePings
from kj_sim.pings import encode_pings
from tests.stack import SAMPLE_CITY

from .conftest import Gateway, eventually, pings_of


async def test_one_second_of_the_fleet_arrives_through_808_and_http(
    gateway: Gateway, db: asyncpg.Connection, topics: KafkaSettings
):
    city = load_city(SAMPLE_CITY)
    pings = DevicePings(
        city, jt808=("127.0.0.1", gateway.port), http_url=gateway.http_url, dev_secret="sim-test"
    )
    await pings.bind(db)
    car = next(u.id for u in city.units if u.kind is UnitKind.car)
    bike = next(u.id for u in city.units if u.kind is UnitKind.motorcycle)
    # the gateway's registry refreshes on its own: wait until it holds every device bound above
    # (a refresh in the middle of `bind` held only some)
    bound = [*pings.numbers.values(), *pings.phones.values()]
    await eventually(lambda: all(gateway.core.terminals.lookup(d) is not None for d in bound))
    try:
        await pings.connect()
        n = len(city.units)
        lat = np.full(n, 27.24) + np.arange(n) / 1e5
        records = encode_pings(
            [u.id for u in city.units],
            datetime.now(UTC).replace(microsecond=0),
            lat,
            np.full(n, 111.47),
            np.full(n, 10.0),
            np.full(n, 90.0),
        )
        await pings.publish(records)
        await pings.drain()  # the phones' requests run beside the simulated clock
        assert pings.failed == 0 and pings.sent == n
    finally:
        await pings.close()
    for unit in (car, bike):  # other tests of this package may have moved these units too
        index = [u.id for u in city.units].index(unit)

        async def arrived(unit: str = unit, index: int = index) -> bool:
            return any(
                abs(p["lat"] - (27.24 + index / 1e5)) < 1e-6 and abs(p["speed_kmh"] - 36.0) < 0.1
                for p in await pings_of(topics, unit)
            )

        await eventually(arrived)
