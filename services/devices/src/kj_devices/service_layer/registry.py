"""Keeps the gateway's registry snapshot current: read at start (before a terminal is let in)
and every few seconds after. A registry that cannot be read keeps the last snapshot."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from kj_devices.domain.binding import Binding
from kj_devices.service_layer.terminals import Terminals
from kj_runtime.errors import may_heal
from kj_runtime.lifecycle import sleep_or_stop

log = structlog.get_logger(__name__)
Load = Callable[[], Awaitable[dict[str, Binding]]]


async def refresh(terminals: Terminals, load: Load) -> None:
    bindings = await load()
    gone = terminals.replace_bindings(bindings)
    if gone:
        log.info("devices_revoked", units=sorted(set(gone)))


async def keep_fresh(terminals: Terminals, load: Load, stop: asyncio.Event, every_s: float) -> None:
    while not stop.is_set():
        await sleep_or_stop(stop, every_s)
        if stop.is_set():
            return
        try:
            await refresh(terminals, load)
        except Exception as error:
            if not may_heal(error):
                raise
            log.warning("registry_not_read", error=repr(error))
