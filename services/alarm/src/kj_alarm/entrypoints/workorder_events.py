"""`dispatch.workorders`, `workorders.events` and `dispatch.command_results` → each alarm's
timeline and status. Work orders in a batch are handled before events, so an event finds its
order."""

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from kj_alarm.service_layer.deps import Deps
from kj_alarm.service_layer.workorders import (
    UnknownWorkOrder,
    on_command_handled,
    on_event,
    on_work_order,
)
from kj_runtime.deadletters import DeadLetterSink
from kj_schemas import codec
from kj_schemas.commands import CommandHandled
from kj_schemas.topics import DISPATCH_COMMAND_RESULTS, DISPATCH_WORKORDERS
from kj_schemas.workorders import WorkOrder, WorkOrderEvent


class WorkOrderTimeline:
    def __init__(self, deps: Deps, dead_letters: DeadLetterSink, topic_prefix: str) -> None:
        self.deps = deps
        self.dead_letters = dead_letters
        self.orders_topic = topic_prefix + DISPATCH_WORKORDERS.name
        self.results_topic = topic_prefix + DISPATCH_COMMAND_RESULTS.name

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        ordered = sorted(records, key=lambda r: r.topic != self.orders_topic)
        for record in ordered:
            try:
                if record.topic == self.orders_topic:
                    await on_work_order(codec.decode(WorkOrder, record.value or b""), self.deps)
                elif record.topic == self.results_topic:
                    result = codec.decode(CommandHandled, record.value or b"")
                    await on_command_handled(result, self.deps)
                else:
                    await on_event(codec.decode(WorkOrderEvent, record.value or b""), self.deps)
            except (ValidationError, ValueError) as error:
                await self.dead_letters.send(record, reason="schema", detail=str(error)[:2000])
            except UnknownWorkOrder as error:
                await self.dead_letters.send(record, reason="unknown_work_order", detail=str(error))
