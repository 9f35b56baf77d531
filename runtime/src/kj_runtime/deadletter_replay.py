"""Reading the `deadletters` topic back, and sending a refused record again to the topic it came
from once its cause is fixed (`kj-infra deadletters list | replay`, decision 0075).

A dead letter carries the record whole only when it says so: `value_bytes` is given, the
excerpt is not `truncated`, and the excerpt has exactly that many bytes. Only those are
replayed, with their key, to their source topic; the others are refused with the reason (the
record itself stays on its source topic, at the partition and offset the letter names, until
retention removes it)."""

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from kj_runtime.deadletters import KEY_CHARS
from kj_runtime.kafka import list_topics, make_producer, partitions_of
from kj_runtime.settings import KafkaSettings
from kj_schemas.codec import decode
from kj_schemas.deadletter import DeadLetter
from kj_schemas.topics import DEADLETTERS

REPLAY_HEADER = "kj-replay-of"  # on a replayed record: the dead letter it came from


@dataclass(frozen=True)
class Found:
    """A record of the `deadletters` topic: where it sits there, and the letter it holds (None
    when it does not decode as one, with the reason in `error`)."""

    partition: int
    offset: int
    letter: DeadLetter | None
    error: str = ""

    @property
    def at(self) -> str:
        return f"{self.partition}:{self.offset}"


class NotReplayable(ValueError):
    """The dead letter does not hold the whole record: the message says why and where the
    record can still be found."""


def original_record(letter: DeadLetter) -> tuple[bytes | None, bytes]:
    """The key and value the refused record had, exactly, or NotReplayable."""
    where = _place(letter)
    if letter.value_bytes is None:
        raise NotReplayable(
            f"the letter does not say how large the record was, so it may not be whole; the "
            f"record is at {where} until retention removes it"
        )
    if letter.truncated:
        raise NotReplayable(
            f"truncated: the letter keeps the first bytes of a {letter.value_bytes:,}-byte "
            f"record; the record is at {where} until retention removes it"
        )
    if letter.value_bytes == 0:
        raise NotReplayable("the record was empty: there is nothing to send again")
    try:
        if letter.value_encoding == "base64":
            value = base64.b64decode(letter.value, validate=True)
        else:
            value = letter.value.encode("utf-8")
    except (binascii.Error, UnicodeEncodeError) as error:
        raise NotReplayable(f"the excerpt does not decode ({error})") from None
    if len(value) != letter.value_bytes:
        raise NotReplayable(
            f"the excerpt holds {len(value):,} bytes of a {letter.value_bytes:,}-byte record; "
            f"the record is at {where} until retention removes it"
        )
    key = letter.key
    if key is not None and ("\ufffd" in key or len(key) >= KEY_CHARS):
        raise NotReplayable(
            f"the key was not kept whole (not UTF-8, or {KEY_CHARS} characters or more); the "
            f"record is at {where} until retention removes it"
        )
    return (key.encode("utf-8") if key is not None else None), value


def matches(
    found: Found,
    kafka: KafkaSettings,
    *,
    source_topic: str | None = None,
    since: datetime | None = None,
    at: Iterable[str] = (),
) -> bool:
    """Whether a dead letter passes the filters: its source topic (a catalogue name, or the
    full name with the deployment's prefix), a time it failed at or after, and positions on
    the `deadletters` topic ("partition:offset"); no filter passes everything."""
    positions = set(at)
    if positions and found.at not in positions:
        return False
    letter = found.letter
    if letter is None:
        return source_topic is None and since is None
    if source_topic is not None and letter.source_topic not in (
        source_topic,
        kafka.topic(source_topic),
    ):
        return False
    return since is None or letter.failed_at >= since


async def read_dead_letters(kafka: KafkaSettings, *, since: datetime | None = None) -> list[Found]:
    """Every dead letter from the start of the topic, or from the first one written at or
    after `since`, to the end it has now, partition by partition."""
    topic = kafka.topic(DEADLETTERS.name)
    partitions = await partitions_of(kafka, topic)
    if not partitions:
        raise ValueError(f"there is no topic {topic} on {kafka.bootstrap}")
    # earliest as the consumer's own reset: a seek_to_beginning() right after assign() can lose
    # to the reset the assignment began (to the end, by default), seen here as an empty read
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            await consumer.position(tp)  # the reset to the beginning, done
        if since is not None:
            starts = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in partitions}
            )
            for tp in partitions:
                found = starts.get(tp)
                consumer.seek(tp, found.offset if found is not None else ends[tp])
        letters: list[Found] = []
        pending = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batches.items():
                letters += [
                    _found(r.partition, r.offset, r.value) for r in records if r.offset < ends[tp]
                ]
            pending = [tp for tp in pending if await consumer.position(tp) < ends[tp]]
        return sorted(letters, key=_when)
    finally:
        await consumer.stop()


def _when(found: Found) -> tuple[float, int, int]:
    failed = found.letter.failed_at.timestamp() if found.letter is not None else 0.0
    return failed, found.partition, found.offset


def _found(partition: int, offset: int, value: bytes | None) -> Found:
    try:
        return Found(partition, offset, decode(DeadLetter, value or b""))
    except (ValidationError, ValueError) as error:
        return Found(partition, offset, None, f"not a dead letter: {str(error).splitlines()[0]}")


@dataclass(frozen=True)
class Replayed:
    found: Found
    topic: str
    partition: int
    offset: int


async def replay(kafka: KafkaSettings, letters: list[Found]) -> list[Replayed]:
    """Sends each letter's record again to its source topic, with its key, and waits for the
    broker to have it. Every letter must be replayable (`original_record`) and its topic must
    exist: nothing is sent otherwise."""
    records = [(found, *original_record(_letter(found))) for found in letters]
    present = set(await list_topics(kafka))
    missing = sorted({f.letter.source_topic for f, _, _ in records if f.letter} - present)
    if missing:
        raise NotReplayable(f"no such topic on the broker: {', '.join(missing)}")
    producer = make_producer(kafka)
    await producer.start()
    try:
        done: list[Replayed] = []
        for found, key, value in records:
            letter = _letter(found)
            origin = f"deadletters {found.at}: {_place(letter)}"
            sent = await producer.send_and_wait(
                letter.source_topic, value, key=key, headers=[(REPLAY_HEADER, origin.encode())]
            )
            done.append(Replayed(found, sent.topic, sent.partition, sent.offset))
        return done
    finally:
        await producer.stop()


def _place(letter: DeadLetter) -> str:
    return f"{letter.source_topic} partition {letter.partition} offset {letter.offset}"


def _letter(found: Found) -> DeadLetter:
    if found.letter is None:
        raise NotReplayable(f"deadletters {found.at}: {found.error}")
    return found.letter
