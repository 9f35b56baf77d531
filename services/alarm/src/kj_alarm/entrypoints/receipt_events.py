"""`notify.receipts` → the alarms' timelines. A record that is not a valid receipt goes to
`deadletters` with the reason; a database failure raises, so the batch is retried."""

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from kj_alarm.service_layer.deps import Deps
from kj_alarm.service_layer.receipts import record_receipts
from kj_runtime.deadletters import DeadLetterSink
from kj_schemas import codec
from kj_schemas.notify import DeliveryReceipt


class ReceiptTimeline:
    def __init__(self, deps: Deps, dead_letters: DeadLetterSink) -> None:
        self.deps = deps
        self.dead_letters = dead_letters

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        receipts: list[DeliveryReceipt] = []
        for record in records:
            try:
                receipts.append(codec.decode(DeliveryReceipt, record.value or b""))
            except (ValidationError, ValueError) as error:
                await self.dead_letters.send(record, reason="schema", detail=str(error)[:2000])
        await record_receipts(receipts, self.deps)
