"""Records that cannot be processed go to the `deadletters` topic with the cause, counted by
reason; the stream goes on."""

import base64
from typing import Literal

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from prometheus_client import Counter

from kj_schemas.base import utcnow
from kj_schemas.codec import encode
from kj_schemas.deadletter import DeadLetter
from kj_schemas.topics import DEADLETTERS

log = structlog.get_logger(__name__)

DEAD_LETTERS = Counter(
    "kj_dead_letters_total", "Records refused, by cause", ["service", "source_topic", "reason"]
)


def dead_letter_for(
    record: ConsumerRecord, *, service: str, reason: str, detail: str
) -> DeadLetter:
    raw = record.value if isinstance(record.value, bytes) else bytes(record.value or b"")
    try:
        value = raw.decode("utf-8")
        encoding: Literal["utf-8", "base64"] = "utf-8"
    except UnicodeDecodeError:
        value, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    key = record.key.decode("utf-8", "replace") if isinstance(record.key, bytes) else None
    return DeadLetter(
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=key[:1024] if key else None,
        value=value,
        value_encoding=encoding,
        reason=reason,
        detail=detail[:4000] or reason,
        service=service,
        failed_at=utcnow(),
    )


class DeadLetterSink:
    def __init__(self, producer: AIOKafkaProducer, *, service: str, topic_prefix: str = "") -> None:
        self.producer = producer
        self.service = service
        self.topic = topic_prefix + DEADLETTERS.name

    async def send(self, record: ConsumerRecord, *, reason: str, detail: str) -> None:
        letter = dead_letter_for(record, service=self.service, reason=reason, detail=detail)
        DEAD_LETTERS.labels(self.service, record.topic, reason).inc()
        log.info("dead_letter", source_topic=record.topic, offset=record.offset, reason=reason)
        await self.producer.send_and_wait(
            self.topic, encode(letter), key=letter.source_topic.encode()
        )
