"""The gateway's view of its terminals: the registry snapshot the conversations look up, the
808 connections signed in per unit, and the work orders waiting for an 808-only vehicle.

A work order for a unit whose binding says `text_dispatch` is sent as 0x8300 text to its
terminal if it is connected here, or held (the latest per unit) and sent when it signs in,
while younger than the hold. The terminal's 0x0001 to that text is the crew's acknowledgement:
the gateway publishes `accepted` with the terminal's answer time as both times (an 808 terminal
has no answer button; decision 0091)."""

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol as TypingProtocol
from uuid import UUID

import structlog

from kj_devices.domain.binding import Binding, Protocol
from kj_devices.domain.dispatch_text import work_order_text
from kj_devices.domain.fixes import Fix
from kj_schemas.enums import EventSource, WorkOrderAction, WorkOrderEventKind
from kj_schemas.workorders import WorkOrder, WorkOrderEvent

log = structlog.get_logger(__name__)
ACCEPTED_BY_TEXT = uuid.UUID("6f1d0c8e-808a-4c2b-9e0d-0a7e8300c0de")  # namespace of event ids


class TextLine(TypingProtocol):
    """An 808 connection that can take a text (the TCP entrypoint's connection)."""

    def send_text(self, text: str, work_order_id: UUID) -> None: ...


class FixSink(TypingProtocol):
    def put(self, fixes: list[Fix]) -> None: ...

    @property
    def queued(self) -> int: ...


@dataclass(frozen=True)
class Held:
    order: WorkOrder
    text: str

    def fresh(self, now: float, hold_s: float) -> bool:
        """Young enough to be worth sending (a replayed old order is not)."""
        return now - self.order.issued_at.timestamp() <= hold_s


class Terminals:
    def __init__(
        self,
        *,
        sink: FixSink,
        publish_event: Callable[[WorkOrderEvent], Awaitable[None]],
        hold_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sink = sink
        self.publish_event = publish_event
        self.hold_s = hold_s
        self.clock = clock
        self.bindings: dict[str, Binding] = {}
        self.loaded = False
        self.lines: dict[str, TextLine] = {}  # unit id → its 808 connection signed in here
        self.held: dict[str, Held] = {}  # unit id → the latest work order for its text

    # ---- the registry -------------------------------------------------------------------

    def lookup(self, device_id: str) -> Binding | None:
        return self.bindings.get(device_id)

    def replace_bindings(self, bindings: dict[str, Binding]) -> list[str]:
        """A fresh registry snapshot; returns the units whose binding went away (revoked)."""
        old = self.bindings
        gone = [b.unit_id for d, b in old.items() if d not in bindings]
        # an unchanged binding stays the same object: a connection's check is `is`, and the
        # collector does not see 10,000 new objects every few seconds
        self.bindings = {d: old[d] if old.get(d) == b else b for d, b in bindings.items()}
        self.loaded = True
        return gone

    def text_dispatch_units(self) -> set[str]:
        return {
            b.unit_id
            for b in self.bindings.values()
            if b.protocol is Protocol.jt808 and b.text_dispatch
        }

    # ---- 808 connections ----------------------------------------------------------------

    def signed_in(self, binding: Binding, line: TextLine) -> None:
        self.lines[binding.unit_id] = line
        if binding.text_dispatch:
            held = self.held.get(binding.unit_id)
            if held is not None and held.fresh(self.clock(), self.hold_s):
                line.send_text(held.text, held.order.work_order_id)

    def signed_out(self, unit_id: str, line: TextLine) -> None:
        if self.lines.get(unit_id) is line:
            del self.lines[unit_id]

    def take_fixes(self, fixes: list[Fix]) -> None:
        self.sink.put(fixes)

    def backlogged(self, limit: int) -> bool:
        """More fixes wait for the broker than `limit`: time to stop reading for a while."""
        return self.sink.queued > limit

    # ---- work orders --------------------------------------------------------------------

    async def handle_work_orders(self, orders: Sequence[WorkOrder]) -> None:
        """The consume surface's handler for `dispatch.workorders`."""
        texting = self.text_dispatch_units()
        for order in orders:
            if order.unit_id not in texting:
                continue
            message = Held(order, work_order_text(order))
            if order.action is WorkOrderAction.assign:
                self.held[order.unit_id] = message
            else:
                held = self.held.get(order.unit_id)
                if held is not None and held.order.work_order_id == order.work_order_id:
                    del self.held[order.unit_id]
            line = self.lines.get(order.unit_id)
            if line is not None and message.fresh(self.clock(), self.hold_s):
                line.send_text(message.text, order.work_order_id)

    async def acknowledged(self, binding: Binding, work_order_id: UUID) -> None:
        """The terminal confirmed a work order's text: for an 808-only crew, `accepted`."""
        held = self.held.get(binding.unit_id)
        if not binding.text_dispatch or held is None:
            return
        if held.order.work_order_id != work_order_id:
            return  # a withdrawal's text, or an order replaced since
        now = datetime.fromtimestamp(self.clock(), UTC)
        event = WorkOrderEvent(
            message_id=uuid.uuid5(ACCEPTED_BY_TEXT, str(work_order_id)),
            work_order_id=work_order_id,
            unit_id=binding.unit_id,
            kind=WorkOrderEventKind.accepted,
            source=EventSource.terminal,
            occurred_at=now,
            received_at=now,
        )
        await self.publish_event(event)
        log.info(
            "text_dispatch_acknowledged", unit_id=binding.unit_id, work_order_id=str(work_order_id)
        )
