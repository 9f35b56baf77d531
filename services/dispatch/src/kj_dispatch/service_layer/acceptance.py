"""The acceptance timer: work orders not accepted in time are withdrawn and their units held
as unresponsive; the deadline is judged by what the officers' answers say, once they are read
past it (decision 0147)."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kj_dispatch.domain.workorder import UNACCEPTED
from kj_dispatch.service_layer import telemetry
from kj_dispatch.service_layer.ownership import Fenced
from kj_dispatch.service_layer.withdrawal import Tell, withdraw
from kj_schemas.enums import NoticeKind

if TYPE_CHECKING:
    from kj_dispatch.service_layer.dispatcher import Dispatcher


async def expire_unaccepted(dispatcher: "Dispatcher") -> int:
    """Withdraw work orders not accepted in time; mark their units unresponsive. A deadline
    is judged only once the officers' answers are read past it: while the broker cannot be
    read, an acceptance the gateway took in time may be waiting there (issue 14)."""
    now = dispatcher.clock()
    judged = now
    if dispatcher.answers_read is not None:
        if dispatcher.answers_read.until is None:
            return 0
        read = datetime.fromtimestamp(dispatcher.answers_read.until, now.tzinfo)
        judged = min(now, read - timedelta(seconds=dispatcher.timings.answers_grace_s))
    expired = dispatcher.book.unaccepted(judged)
    for order in expired:
        alarm = dispatcher.book.alarm(order.alarm_id)
        tell = Tell(
            alarm,
            NoticeKind.unresponsive_unit,
            "not_accepted_in_time",
            dispatcher.timings.accept_timeout_s,
        )
        try:
            async with dispatcher.pool.acquire() as connection, connection.transaction():
                await dispatcher.ownership.fence(connection)
                done = await withdraw(
                    connection,
                    dispatcher.outbox,
                    order,
                    reason="accept_timeout",
                    at=now,
                    only_from=UNACCEPTED,
                    tell=tell,
                )
        except Fenced as fenced:
            dispatcher.ownership.fenced(fenced)
            return len(expired)
        if done:
            dispatcher.lost(order, reason="accept_timeout")
            dispatcher.fleet.mark_unresponsive(
                order.unit_id, now + timedelta(seconds=dispatcher.timings.unresponsive_hold_s)
            )
            telemetry.not_accepted(order)
        else:  # answered meanwhile or closed by someone else: the events will tell
            dispatcher.book.leave_to_events(order)
    return len(expired)
