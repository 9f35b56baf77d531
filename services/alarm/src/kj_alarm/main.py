"""`kj-alarm`: the alarm intake service, until SIGTERM or SIGINT."""

import asyncio

import structlog

from kj_alarm.bootstrap import SERVICE, run
from kj_alarm.settings import AlarmSettings
from kj_runtime.lifecycle import stop_on_signals
from kj_runtime.logging import configure_logging


async def _main() -> None:
    settings = AlarmSettings()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    stop = asyncio.Event()
    stop_on_signals(stop)
    structlog.get_logger(__name__).info(
        "starting", port=settings.http_port, integrations=sorted(settings.integrations)
    )
    await run(settings, stop)


def main() -> None:
    try:
        import uvloop  # uvicorn[standard] brings it: a faster event loop for the HTTP path
    except ImportError:  # pragma: no cover
        asyncio.run(_main())
    else:
        uvloop.run(_main())


if __name__ == "__main__":
    main()
