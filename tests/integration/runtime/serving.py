"""A service's HTTP server as the host runs it (`kj_runtime.host.hosted`), on a free loopback
port, for the tests of what every service's server does."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kj_runtime.host import Service, hosted
from kj_runtime.settings import ServiceSettings


@asynccontextmanager
async def served(name: str, settings: ServiceSettings, app: FastAPI) -> AsyncIterator[int]:
    """Hosts `app` with `settings` (their `http_port` a free one) and yields the port once it
    accepts connections."""
    async with hosted(Service(name, settings, core=None, app=app)):
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", settings.http_port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
        yield settings.http_port
