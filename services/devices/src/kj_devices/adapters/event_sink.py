"""Work-order events the gateway itself emits (an 808-only crew's acknowledgement) onto
`workorders.events`, keyed by unit. Their ids are derived from the work order, so a repeat is
the same event and consumers drop it (they are idempotent by message id)."""

from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings
from kj_schemas.codec import encode
from kj_schemas.topics import WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrderEvent


class EventSink:
    def __init__(self, producer: AIOKafkaProducer, kafka: KafkaSettings) -> None:
        self.producer = producer
        self.topic = kafka.topic(WORKORDERS_EVENTS.name)

    async def publish(self, event: WorkOrderEvent) -> None:
        await self.producer.send_and_wait(self.topic, encode(event), key=event.unit_id.encode())
