"""The one route for records that cannot be processed: the `deadletters` topic, with the
record's place (topic, partition, offset, key), a bounded excerpt of its value and the cause,
counted by reason; the stream goes on.

The excerpt is bounded so that a dead letter always fits on the broker: copying a 1 MB record
whole made a dead letter above the producer's size limit, and the consumer that tried to send
it retried forever while its partitions stood still (issue 14). `value_bytes` keeps the
original size; `truncated` says the excerpt is not the whole record."""

import asyncio
import base64
from collections.abc import Iterable
from typing import Literal, Protocol

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import Counter

from kj_runtime.settings import KafkaSettings
from kj_schemas.base import utcnow
from kj_schemas.codec import encode
from kj_schemas.deadletter import DeadLetter
from kj_schemas.topics import DEADLETTERS

log = structlog.get_logger(__name__)

DEAD_LETTERS = Counter(
    "kj_dead_letters_total", "Records refused, by cause", ["service", "source_topic", "reason"]
)

EXCERPT_BYTES = 4096  # of the value; base64 makes it at most 5,462 characters
KEY_CHARS = 1024
DETAIL_CHARS = 4000
SEND_BOUND_S = 20.0  # beyond the producer's own 15 s request timeout


class RecordLike(Protocol):
    """Where a refused record came from: an aiokafka ConsumerRecord, or the runtime's Inbound."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | str | None: ...
    @property
    def value(self) -> bytes | None: ...


def _excerpt(raw: bytes) -> tuple[str, Literal["utf-8", "base64"], bool]:
    head = raw[:EXCERPT_BYTES]
    truncated = len(raw) > EXCERPT_BYTES
    try:
        # a cut may split a multi-byte character: drop the partial tail, not the whole text
        text = head.decode("utf-8", "ignore" if truncated else "strict")
    except UnicodeDecodeError:
        return base64.b64encode(head).decode("ascii"), "base64", truncated
    if "\x00" in text:  # text with NUL is not text a person or PostgreSQL can read
        return base64.b64encode(head).decode("ascii"), "base64", truncated
    return text, "utf-8", truncated


def dead_letter_for(record: RecordLike, *, service: str, reason: str, detail: str) -> DeadLetter:
    raw = record.value if isinstance(record.value, bytes | bytearray) else b""
    value, encoding, truncated = _excerpt(bytes(raw))
    key = record.key
    if isinstance(key, bytes | bytearray):
        key = bytes(key).decode("utf-8", "replace")
    return DeadLetter(
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=key[:KEY_CHARS] if key else None,
        value=value,
        value_encoding=encoding,
        value_bytes=len(raw),
        truncated=truncated,
        reason=reason,
        detail=detail[:DETAIL_CHARS] or reason,
        service=service,
        failed_at=utcnow(),
    )


class DeadLetters:
    """Sends dead letters with the service's producer and waits for the broker to have them
    (the consumer commits past a refused record only after its dead letter is stored)."""

    def __init__(self, producer: AIOKafkaProducer, *, service: str, kafka: KafkaSettings) -> None:
        self.producer = producer
        self.service = service
        self.topic = kafka.topic(DEADLETTERS.name)

    async def send(self, record: RecordLike, *, reason: str, detail: str) -> None:
        await self.send_many([(record, reason, detail)])

    async def send_many(self, refused: Iterable[tuple[RecordLike, str, str]]) -> None:
        futures = []
        for record, reason, detail in refused:
            letter = dead_letter_for(record, service=self.service, reason=reason, detail=detail)
            DEAD_LETTERS.labels(self.service, record.topic, reason).inc()
            log.info("dead_letter", source_topic=record.topic, offset=record.offset, reason=reason)
            futures.append(
                await self.producer.send(
                    self.topic, encode(letter), key=letter.source_topic.encode()
                )
            )
        if not futures:
            return
        # a produced batch may wait on a producer that has not reconnected after a broker
        # restart (aiokafka#1101): bounded, the consumer seeks back and tries again (may_heal)
        try:
            await asyncio.wait_for(asyncio.gather(*futures), SEND_BOUND_S)
        except TimeoutError as error:
            raise KafkaTimeoutError(
                f"dead letters not stored in {SEND_BOUND_S:.0f} s; will try again"
            ) from error
