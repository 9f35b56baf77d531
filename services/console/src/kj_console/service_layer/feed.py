"""What the topics tell the console, into its live view and out to the browsers: positions from
`units.state` (read whole at start), and from the moment it starts, incidents, work orders,
answers, notices, dead letters and broadcast receipts. What happened before it started is read
from PostgreSQL (`restore`), and checked again every few seconds (`reconcile`), so an alarm
accepted between the two is never missed."""

from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from kj_console.adapters import audit, history
from kj_console.domain.live import Incident, LiveView, answer_json, ms
from kj_console.service_layer.hub import Hub
from kj_runtime.logging import mask_phone_numbers_in
from kj_schemas.alarms import AlarmAccepted, AlarmMerged, AlarmStatusChanged
from kj_schemas.commands import CommandHandled
from kj_schemas.deadletter import DeadLetter
from kj_schemas.enums import NotificationChannel
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.topics import PATROL_PINGS
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import CommandNotice, WorkOrder, WorkOrderEvent

log = structlog.get_logger(__name__)
_PEOPLE = frozenset({NotificationChannel.taxi, NotificationChannel.volunteer})
# dead letters from the GPS stream are routine (a terminal's bad fix): counted by tracking's
# metrics, not listed for a person
_ROUTINE_DEAD_LETTERS = frozenset({PATROL_PINGS.name})


def mask(phone: str) -> str:
    """A caller's number as the console shows it: 138****1234."""
    masked = mask_phone_numbers_in(phone)
    return masked if masked != phone else "****" + phone[-4:]


class Feed:
    def __init__(self, view: LiveView, hub: Hub, pool: asyncpg.Pool, *, region: str) -> None:
        self.view = view
        self.hub = hub
        self.pool = pool
        self.region = region
        self.deliveries: OrderedDict[UUID, Counter[str]] = OrderedDict()  # broadcast -> counts

    # ---- from PostgreSQL --------------------------------------------------------------------

    async def restore(self) -> None:
        for incident in await history.open_incidents(self.pool, self.region, mask):
            self.view.open_incident(incident)
        for unit_id, duty in (await history.unit_duty(self.pool)).items():
            self.view.set_duty(unit_id, duty)
        for notice in reversed(await history.recent_notices(self.pool, limit=200)):
            self.view.notices.appendleft(notice)
        log.info("console_restored", incidents=len(self.view.incidents))

    async def reconcile(self) -> int:
        """Open incidents PostgreSQL has and the view lacks come in; those it has closed go.
        Returns how many changed. Only incidents the view held before PostgreSQL was read can
        go: one accepted while these queries ran is newer than their answer (it was closed
        here, and so never shown again, when its alarm came in during the reconcile)."""
        held_before = set(self.view.incidents)
        open_ids = await history.open_alarm_ids(self.pool, self.region)
        missing = [a for a in open_ids if a not in self.view.incidents]
        changed = 0
        if missing:
            for incident in await history.incidents_by_id(self.pool, missing, mask):
                patch = self.view.open_incident(incident)
                if patch is not None:
                    self.hub.publish(patch)
                    changed += 1
        for alarm_id in [a for a in held_before - open_ids if a in self.view.incidents]:
            self.hub.publish(self.view.close(alarm_id))
            changed += 1
        duty = await history.unit_duty(self.pool)
        for unit_id in set(self.view.duty) - set(duty):
            self.hub.publish(self.view.set_duty(unit_id, "on_duty"))
        for unit_id, value in duty.items():
            if self.view.duty.get(unit_id) != value:
                self.hub.publish(self.view.set_duty(unit_id, value))
        return changed

    # ---- from the topics (each handler gets a batch of decoded messages) --------------------

    async def on_unit_states(self, states: Sequence[UnitState]) -> None:
        for state in states:
            self.view.unit_state(state)

    async def on_accepted(self, alarms: Sequence[AlarmAccepted]) -> None:
        ours = [alarm for alarm in alarms if alarm.region == self.region]
        if not ours:
            return
        known = [a for a in ours if a.amendment is not None and a.alarm_id in self.view.incidents]
        for alarm in known:  # an update the integration sent: the same incident, new facts
            self.hub.publish(self.view.amended(alarm))
        seen = {a.message_id for a in known}
        new = [a for a in ours if a.message_id not in seen]
        if not new:
            return
        phones = await history.caller_phones(self.pool, [a.alarm_id for a in new], mask)
        for alarm in new:
            phone = phones.get(alarm.alarm_id)
            self.hub.publish(self.view.open_incident(Incident.of(alarm, phone=phone)))

    async def on_merged(self, calls: Sequence[AlarmMerged]) -> None:
        for call in calls:
            self.hub.publish(self.view.merged(call))

    async def on_status(self, changes: Sequence[AlarmStatusChanged]) -> None:
        for change in changes:
            self.hub.publish(self.view.status(change))

    async def on_work_orders(self, orders: Sequence[WorkOrder]) -> None:
        for order in orders:
            self.hub.publish(self.view.work_order(order))

    async def on_events(self, events: Sequence[WorkOrderEvent]) -> None:
        for event in events:
            self.hub.publish(self.view.event(event))

    async def on_notices(self, notices: Sequence[CommandNotice]) -> None:
        for notice in notices:
            if notice.region != self.region:
                continue
            patch = self.view.notice(notice)
            await history.keep_notice(
                self.pool,
                message_id=notice.message_id,
                kind=str(notice.kind),
                at=notice.at,
                body=patch["notice"],
            )
            self.hub.publish(patch)

    async def on_answers(self, results: Sequence[CommandHandled]) -> None:
        for result in results:
            if result.region != self.region:
                continue
            await audit.answered(self.pool, result)
            self.hub.publish(self.view.answered(result))

    async def on_receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        touched: set[UUID] = set()
        for receipt in receipts:
            if receipt.channel not in _PEOPLE:
                continue
            counts = self.deliveries.setdefault(receipt.ref_id, Counter())
            counts[str(receipt.status)] += 1
            self.deliveries.move_to_end(receipt.ref_id)
            touched.add(receipt.ref_id)
        while len(self.deliveries) > 1000:
            self.deliveries.popitem(last=False)
        for broadcast_id in touched:
            counts = self.deliveries[broadcast_id]
            self.hub.publish(
                {
                    "t": "broadcast",
                    "id": str(broadcast_id),
                    "delivered": counts["delivered"] + counts["read"],
                    "failed": counts["failed"],
                }
            )

    async def on_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            if any(letter.source_topic.endswith(t) for t in _ROUTINE_DEAD_LETTERS):
                continue
            entry: dict[str, Any] = {
                "id": str(letter.message_id),
                "kind": "dead_letter",
                "at": ms(letter.failed_at),
                "reason": letter.reason,
                "source": letter.source_topic,
                "service": letter.service,
                "detail": mask_phone_numbers_in(letter.detail)[:300],
            }
            await history.keep_notice(
                self.pool,
                message_id=letter.message_id,
                kind="dead_letter",
                at=letter.failed_at,
                body=entry,
            )
            self.hub.publish(self.view.dead_letter(entry))


__all__ = ["Feed", "answer_json", "mask"]
