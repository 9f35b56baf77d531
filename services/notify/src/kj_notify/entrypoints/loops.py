"""Notify's own loop beside the consumers: the undelivered backlog gauge, and failed receipts
for work orders their terminals did not acknowledge in time."""

import asyncio

import asyncpg
import structlog

from kj_notify.metrics import UNDELIVERED
from kj_notify.service_layer.terminals import backlog, fail_overdue
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.outbox import Outbox

log = structlog.get_logger(__name__)


async def watch_backlog(
    pool: asyncpg.Pool, outbox: Outbox, stop: asyncio.Event, every_s: float = 5.0
) -> None:
    """Keep the undelivered-backlog gauge current; record failed receipts for overdue ones."""
    while not stop.is_set():
        try:
            UNDELIVERED.set(await backlog(pool))
            await fail_overdue(pool, outbox)
        except UNAVAILABLE as error:
            log.warning("backlog_check_failed", error=type(error).__name__)  # next round retries
        except Exception:  # a bug here must not take the gateway down with it
            log.exception("backlog_check_crashed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            pass
