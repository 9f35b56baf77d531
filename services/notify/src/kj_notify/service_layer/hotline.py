"""The 12345 hand-off (issue 19, decision 0116): non-police calls the alarm service diverted
(`alarms.diverted`) go to the 12345 government hotline's system over HTTP. The hotline is one
more destination of the callback workers: each diverted call is owed in `callback_deliveries`
under the destination `12345`, posted with the same signature, retried for the same window,
then dead-lettered with the cause; its receipt (the hotline's acknowledgement, or the failure)
reaches the alarm's timeline through `notify.receipts` (decision 0043)."""

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from kj_notify.adapters import callbacks as store
from kj_runtime.consume import Inbound
from kj_schemas.alarms import AlarmDiverted

HOTLINE = "12345"  # the hotline's name among the callback destinations (not an integration's)
# what of the hotline's answer goes on the alarm's timeline: its ticket number, if it has one
_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


async def take_diversions(pool: asyncpg.Pool, diverted: Sequence[Inbound[AlarmDiverted]]) -> bool:
    """Owe each diverted call to the hotline (once per message id); True when one is new."""
    new = False
    async with pool.acquire() as connection, connection.transaction():
        for inbound in diverted:
            new |= await store.owe(connection, inbound.message.message_id, HOTLINE, inbound)
    return new


def alarm_of(body: bytes) -> UUID | None:
    """The alarm a diverted call's record is about."""
    try:
        return UUID(str(orjson.loads(body)["alarm_id"]))
    except (ValueError, KeyError, TypeError):
        return None


def ticket_of(answer: bytes) -> str | None:
    """The hotline's ticket number in its answer (`{"ticket_id": ...}`), when it gives one
    that reads as an id; anything else it says is not kept."""
    try:
        data: Any = orjson.loads(answer)
    except ValueError:
        return None
    ticket = data.get("ticket_id") if isinstance(data, dict) else None
    return ticket if isinstance(ticket, str) and _TICKET.match(ticket) else None
