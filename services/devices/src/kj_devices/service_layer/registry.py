"""Keeps the gateway's registry snapshot current: read at start (before a terminal is let in)
and every few seconds after, when its fingerprint (a sum of row hashes PostgreSQL computes)
says it changed; a province's 10,000 rows are not read and rebuilt in Python every 5 s for
nothing. A registry that cannot be read keeps the last snapshot."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from kj_devices.domain.binding import Binding
from kj_devices.service_layer.terminals import Terminals
from kj_runtime.errors import may_heal
from kj_runtime.lifecycle import sleep_or_stop

log = structlog.get_logger(__name__)
Load = Callable[[], Awaitable[dict[str, Binding]]]
Fingerprint = Callable[[], Awaitable[object]]


async def refresh(terminals: Terminals, load: Load) -> None:
    bindings = await load()
    gone = terminals.replace_bindings(bindings)
    if gone:
        log.info("devices_revoked", units=sorted(set(gone)))


async def keep_fresh(
    terminals: Terminals,
    load: Load,
    fingerprint: Fingerprint,
    stop: asyncio.Event,
    every_s: float,
) -> None:
    seen: object = None  # the first turn reads the table once more
    while not stop.is_set():
        await sleep_or_stop(stop, every_s)
        if stop.is_set():
            return
        try:
            now = await fingerprint()
            if now == seen:
                continue
            await refresh(terminals, load)
            seen = now
        except Exception as error:
            if not may_heal(error):
                raise
            log.warning("registry_not_read", error=repr(error))
