"""`kj-notify`: the terminal gateway, status callbacks and broadcasts, until SIGTERM/SIGINT."""

import asyncio

from kj_notify.bootstrap import run
from kj_notify.settings import NotifySettings
from kj_runtime import heap
from kj_runtime.lifecycle import stop_on_signals
from kj_runtime.logging import configure_logging


async def _main() -> None:
    settings = NotifySettings()
    configure_logging("notify", level=settings.log_level, json=settings.log_json)
    stop = asyncio.Event()
    stop_on_signals(stop)
    # what is loaded by now (modules, models, schemas) lives as long as the process: out of the
    # cyclic collector's way, so its full passes, which stall every socket, stay short
    heap.settle()
    await run(settings, stop)


def main() -> None:
    try:  # uvloop comes with uvicorn[standard]: cheaper sockets for many terminals
        import uvloop
    except ImportError:  # pragma: no cover - not on every platform
        asyncio.run(_main())
    else:
        uvloop.run(_main())


if __name__ == "__main__":
    main()
