"""What a person does on the console, recorded with who did it: a command to dispatch (through
the console's outbox, in the same transaction as its audit row: decision 0080), a broadcast to
taxi drivers and volunteers near an incident (`notify.broadcasts`), an unmerge (alarm intake's
API). Viewers cannot act."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import structlog

from kj_console.adapters import audit
from kj_console.domain.roles import Action, may
from kj_console.service_layer.auth import SignedIn
from kj_console.service_layer.metrics import ACTIONS
from kj_runtime.outbox import Outbox
from kj_schemas.base import GeoPoint, utcnow
from kj_schemas.commands import AnyCommand, DispatchCommand
from kj_schemas.enums import NotificationChannel
from kj_schemas.notify import BroadcastRequested
from kj_schemas.topics import DISPATCH_COMMANDS, NOTIFY_BROADCASTS

log = structlog.get_logger(__name__)
# alarm intake's unmerge: (alarm id, actor) -> (HTTP status, its answer)
Unmerge = Callable[[UUID, str], Awaitable[tuple[int, dict[str, Any]]]]


class NotAllowed(Exception):
    """The person's role may not take this action."""


class Actions:
    def __init__(
        self,
        pool: asyncpg.Pool,
        outbox: Outbox,
        *,
        region: str,
        unmerge: Unmerge,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.region = region
        self.unmerge_at_intake = unmerge
        self.clock = clock

    async def command(self, who: SignedIn, body: AnyCommand) -> UUID:
        """Send a command to the dispatch process of the region; its answer comes back on
        `dispatch.command_results` (the live feed)."""
        _allowed(who, Action.command)
        command = DispatchCommand(
            command_id=uuid4(),
            region=self.region,
            actor=who.username,
            issued_at=self.clock(),
            command=body,
        )
        async with self.pool.acquire() as connection, connection.transaction():
            await audit.record(
                connection,
                actor=who.username,
                role=who.role,
                action=str(body.kind),
                outcome="sent",
                request=body.model_dump(mode="json"),
                command_id=command.command_id,
                alarm_id=command.alarm_id,
                unit_id=command.unit_id,
                work_order_id=getattr(body, "work_order_id", None),
            )
            await self.outbox.put(connection, DISPATCH_COMMANDS.name, self.region, command)
        ACTIONS.labels(str(body.kind), "sent").inc()
        log.info("command_sent", kind=str(body.kind), actor=who.username)
        return command.command_id

    async def broadcast(
        self,
        who: SignedIn,
        *,
        center: GeoPoint,
        radius_m: float,
        audience: list[NotificationChannel],
        text: str,
        alarm_id: UUID | None,
    ) -> UUID:
        _allowed(who, Action.broadcast)
        request = BroadcastRequested(
            broadcast_id=uuid4(),
            audience=audience,
            center=center,
            radius_m=radius_m,
            text=text,
            alarm_id=alarm_id,
            requested_by=who.username,
            requested_at=self.clock(),
        )
        async with self.pool.acquire() as connection, connection.transaction():
            await audit.record(
                connection,
                actor=who.username,
                role=who.role,
                action="broadcast",
                outcome="done",
                request=request.model_dump(mode="json", exclude={"message_id", "schema_version"}),
                command_id=request.broadcast_id,
                alarm_id=alarm_id,
            )
            await self.outbox.put(
                connection, NOTIFY_BROADCASTS.name, str(request.broadcast_id), request
            )
        ACTIONS.labels("broadcast", "done").inc()
        return request.broadcast_id

    async def unmerge(self, who: SignedIn, alarm_id: UUID) -> tuple[int, dict[str, Any]]:
        _allowed(who, Action.unmerge)
        status, answer = await self.unmerge_at_intake(alarm_id, who.username)
        done = status == 200
        reason = None if done else ("not_merged" if status == 409 else f"intake_http_{status}")
        await audit.record(
            self.pool,
            actor=who.username,
            role=who.role,
            action="unmerge",
            outcome="done" if done else "refused",
            request={"alarm_id": str(alarm_id)},
            alarm_id=alarm_id,
            reason=reason,
            detail=None if done else str(answer.get("detail", ""))[:300],
        )
        ACTIONS.labels("unmerge", "done" if done else "refused").inc()
        return status, answer


def _allowed(who: SignedIn, action: Action) -> None:
    if not may(who.role, action):
        ACTIONS.labels(str(action), "not_allowed").inc()
        raise NotAllowed(f"a {who.role} may not {action}")
