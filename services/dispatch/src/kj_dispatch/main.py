"""`kj-dispatch`: run the dispatch service until SIGTERM or SIGINT."""

import asyncio

import structlog
import uvloop

from kj_dispatch.bootstrap import run
from kj_dispatch.settings import DispatchSettings
from kj_runtime import heap
from kj_runtime.lifecycle import stop_on_signals
from kj_runtime.logging import configure_logging


async def _main() -> None:
    settings = DispatchSettings()
    configure_logging("dispatch", level=settings.log_level, json=settings.log_json)
    stop = asyncio.Event()
    stop_on_signals(stop)
    structlog.get_logger(__name__).info("dispatch_starting", http_port=settings.http_port)
    heap.settle()  # modules and schemas live as long as the process: out of the collector's way
    await run(settings, stop)


def main() -> None:
    # uvloop (it comes with uvicorn[standard]): the Kafka and PostgreSQL clients' I/O costs
    # noticeably less CPU on it, which is what keeps alarm -> work order fast under load
    uvloop.run(_main())


if __name__ == "__main__":
    main()
