"""`kj-patrol-tracking`: run the service until SIGTERM/SIGINT."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from kj_runtime import heap
from kj_runtime.lifecycle import stop_on_signals
from kj_runtime.logging import configure_logging
from kj_tracking.bootstrap import bootstrap
from kj_tracking.entrypoints.http import make_app
from kj_tracking.settings import TrackingSettings


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service's stop event owns SIGTERM."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: TrackingSettings) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    service = await bootstrap(settings)
    heap.settle()  # start-up's objects (the fleet's registry, the city) live as long as the process
    server = _Server(
        uvicorn.Config(
            make_app(service), host=settings.http_host, port=settings.http_port, log_config=None
        )
    )
    web = asyncio.create_task(server.serve())
    try:
        await service.run(stop)
    finally:
        server.should_exit = True
        await web


def main() -> None:
    settings = TrackingSettings()
    configure_logging("patrol-tracking", level=settings.log_level, json=settings.log_json)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
