"""`dispatch.workorders`, `workorders.events`, `dispatch.command_results` and `notify.receipts`
→ each alarm's timeline and status. The consume loop hands a batch's work orders over before
its events (the route order in bootstrap.py), so an event finds its order; an event for a work
order this service never saw is refused to the dead letters."""

from collections.abc import Sequence

from kj_alarm.service_layer.deps import Deps
from kj_alarm.service_layer.receipts import record_receipts
from kj_alarm.service_layer.workorders import (
    UnknownWorkOrder,
    on_command_handled,
    on_event,
    on_work_order,
)
from kj_runtime.consume import Refusal
from kj_schemas.commands import CommandHandled
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.workorders import WorkOrder, WorkOrderEvent


class WorkOrderTimeline:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def on_work_orders(self, orders: Sequence[WorkOrder]) -> None:
        for order in orders:
            await on_work_order(order, self.deps)

    async def on_events(self, events: Sequence[WorkOrderEvent]) -> list[Refusal]:
        refused: list[Refusal] = []
        for index, event in enumerate(events):
            try:
                await on_event(event, self.deps)
            except UnknownWorkOrder as error:
                refused.append(Refusal(index, "unknown_work_order", str(error)))
        return refused

    async def on_command_results(self, results: Sequence[CommandHandled]) -> list[Refusal]:
        """A dispatcher's command about an alarm, with who gave it (issue 17)."""
        refused: list[Refusal] = []
        for index, result in enumerate(results):
            try:
                await on_command_handled(result, self.deps)
            except UnknownWorkOrder as error:
                refused.append(Refusal(index, "unknown_alarm", str(error)))
        return refused

    async def on_receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        await record_receipts(receipts, self.deps)
