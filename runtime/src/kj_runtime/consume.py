"""The one consume surface every service uses: a subscription is a table of routes (topic →
decoder → handler); the loop fetches a batch, decodes each record, dead-letters what does not
decode, hands each route its decoded messages, and commits by the subscription's policy.

Failures are sorted by whether they heal (kj_runtime.errors.may_heal):
- the database or the broker is unreachable: the batch is sought back and retried with backoff,
  nothing skipped;
- anything else (bad data, a broken constraint, a bug) fails the same way forever: the batch
  is handled again one message at a time, and the message that still fails goes to the dead
  letters with the cause, so one record never stops its partition.
Handlers are idempotent by message id (STYLE.md habit 7), so a message handled twice (after a
retry or a crash) has the effect of once.

Service layers never see aiokafka: a handler gets the decoded messages of its route, or
`Inbound` envelopes (the message with its key and place) when it asks for them, and may
return `Refusal`s for messages it will not take, which are dead-lettered like bad records."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from typing import Any, Generic, Protocol, TypeVar, cast

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, ValidationError

from kj_runtime.deadletters import DeadLetters, RecordLike
from kj_runtime.errors import may_heal
from kj_runtime.kafka import Assignments
from kj_runtime.lifecycle import sleep_or_stop
from kj_runtime.settings import KafkaSettings
from kj_schemas import codec

log = structlog.get_logger(__name__)

CONSUMED = Counter("kj_consumed_records_total", "Records handled and committed", ["group", "topic"])
BATCH_SECONDS = Histogram(
    "kj_consume_batch_seconds",
    "Time to handle one batch",
    ["group"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_LAG = Gauge(
    "kj_consumer_lag_records", "Records behind the end of the partition", ["group", "topic"]
)
HANDLER_FAILURES = Counter(
    "kj_consume_handler_failures_total", "Batches retried after a handler error", ["group"]
)
POISON = Counter(
    "kj_consume_unprocessable_total",
    "Messages a handler failed on for a cause that does not heal, dead-lettered",
    ["group", "topic"],
)

M = TypeVar("M")

COMMIT_BOUND_S = 10.0


@dataclass(frozen=True, slots=True)
class Inbound(Generic[M]):
    """A decoded message with its key and where it came from (for a handler that keeps them)."""

    message: M
    key: str | None
    topic: str
    partition: int
    offset: int
    value: bytes


@dataclass(frozen=True, slots=True)
class Refusal:
    """The handler will not take the message at `index` of the list it was given."""

    index: int
    reason: str
    detail: str


Handler = Callable[[list[Any]], Awaitable[Sequence[Refusal] | None]]
# a `one_pass` route's handler: it reads its messages once, as they are decoded (OnePass)
OnePassHandler = Callable[[Iterable[Any]], Awaitable[Sequence[Refusal] | None]]
# the partitions this consumer holds now, as (catalogue topic name, partition)
Assignment = frozenset[tuple[str, int]]


def invalid_reason(error: BaseException) -> str:
    """`invalid_json` when the bytes are not JSON at all, `schema` when the contract is broken."""
    if isinstance(error, ValidationError):
        return "invalid_json" if error.errors()[0]["type"] == "json_invalid" else "schema"
    if isinstance(error, TypeError):
        return "empty_record"
    return "invalid_json"


@dataclass(frozen=True)
class Route:
    """One topic of a subscription: how its records decode and who handles them."""

    topic: str  # the catalogue's name, without the deployment's prefix
    decode: Callable[[bytes], Any]
    handle: Handler
    # TypeError: a record without a value (a tombstone) is no message either
    invalid: tuple[type[BaseException], ...] = (ValidationError, ValueError, TypeError)
    reason_for: Callable[[BaseException], str] = invalid_reason
    key_field: str | None = None  # the record's key must equal this field of the message
    envelopes: bool = False  # the handler gets Inbound envelopes instead of messages
    dead_letter_invalid: bool = True  # False: another group dead-letters the same records
    # the handler reads an iterable decoded as it goes (OnePass), not a list: for a hot route
    # of plain messages (no key check, no envelopes). Its handler is a OnePassHandler (mypy
    # does not hold it to that): no len(), no indexing, or every batch fails and is isolated.
    # It is called even when no record decodes (with nothing to read), and a decoder bug is
    # raised from inside its loop (or after it, from `finish`) instead of before it runs.
    one_pass: bool = False

    def __post_init__(self) -> None:
        if self.one_pass and (self.key_field is not None or self.envelopes):
            raise ValueError(
                "a one-pass route hands over plain messages: no key_field, no envelopes"
            )

    @classmethod
    def of(cls, topic: str, model: type[BaseModel], handle: Handler, **options: Any) -> "Route":
        """A route for a contract model (decoded with its upcasters, kj_schemas.codec)."""
        return cls(topic, partial(codec.decode, model), handle, **options)


@dataclass(frozen=True)
class CommitAfterEachBatch:
    """Commit the offsets once every route of a batch has returned."""


@dataclass(frozen=True)
class CommitEvery:
    """Commit in the background at most every `seconds` (decision 0041): the broker round trip
    is on no batch's path; after a crash the records since the last commit are handled again,
    which handlers idempotent by message id drop."""

    seconds: float


CommitPolicy = CommitAfterEachBatch | CommitEvery


class ReadUpTo:
    """How far, in time, a subscription has read its partitions: every record the broker held
    at `until` (epoch seconds) has been handed to the handlers. None until that is known. A timer
    that judges by what should have arrived by a deadline (dispatch's acceptance timer) waits for
    this to pass the deadline, instead of judging while the broker cannot be read."""

    def __init__(self) -> None:
        self.until: float | None = None


@dataclass(frozen=True)
class Subscription:
    """A consumer: its group, its routes in the order a batch is handed to them (e.g. work
    orders before their events), and how it commits.

    `group=None` reads every partition from the beginning without a group and commits nothing
    (a compacted topic kept as a view); `caught_up` is set once the end offsets seen at start
    are reached. With `from_end`, such a subscription starts at the end instead: a live view
    whose past was read from PostgreSQL (the console, issue 17)."""

    name: str
    group: str | None
    routes: tuple[Route, ...]
    commit: CommitPolicy = CommitAfterEachBatch()
    max_records: int = 2000
    timeout_ms: int = 100
    options: Mapping[str, Any] = field(default_factory=dict)  # for kj_runtime.kafka.make_consumer
    caught_up: asyncio.Event | None = None
    read_up_to: ReadUpTo | None = None  # kept up to date after each fetch
    # told the partitions held whenever they change (a rebalance), before the next fetch
    on_assigned: Callable[[Assignment], Awaitable[None]] | None = None
    from_end: bool = False  # group=None only: what is new from now on


class _Batch:
    """One fetch: its records per route, in the subscription's route order."""

    def __init__(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        self.partitions = batches
        self.count = sum(len(records) for records in batches.values())


class DeadLetterSink(Protocol):
    async def send(self, record: RecordLike, *, reason: str, detail: str) -> None: ...
    async def send_many(self, refused: Iterable[tuple[RecordLike, str, str]]) -> None: ...


def _tombstone() -> Any:
    raise TypeError("a record without a value")  # a tombstone is no message


def _decoded(decode: Callable[[bytes], Any], records: Sequence[ConsumerRecord]) -> list[Any]:
    """Every record decoded, in one comprehension with no bookkeeping per record (20,000 pings
    a second go through here); raises on the first that does not decode, for `_sort`."""
    return [
        decode(value) if (value := record.value) is not None else _tombstone() for record in records
    ]


def _sort(
    route: Route, records: Sequence[ConsumerRecord]
) -> tuple[list[Any], list[ConsumerRecord], list[tuple[ConsumerRecord, str, str]]]:
    """The one decode-or-dead-letter step, record by record: the messages, the record each
    came from, and the records refused with their reason and detail. A decoder error outside
    `route.invalid` is a bug and is raised."""
    messages: list[Any] = []
    origins: list[ConsumerRecord] = []
    refused: list[tuple[ConsumerRecord, str, str]] = []
    decode, invalid, key_field = route.decode, route.invalid, route.key_field
    for record in records:
        value = record.value
        if value is None:  # a tombstone is no message
            empty = TypeError("a record without a value")
            refused.append((record, route.reason_for(empty), str(empty)))
            continue
        try:
            message = decode(value)
        except invalid as error:
            refused.append((record, route.reason_for(error), str(error)))
            continue
        if key_field is not None:
            key = record.key.decode("utf-8", "replace") if record.key is not None else None
            expected = str(getattr(message, key_field))
            if key != expected:
                detail = f"key {key!r} does not name the message's {key_field} {expected!r}"
                refused.append((record, "key_mismatch", detail))
                continue
        if route.envelopes:
            message = Inbound(
                message,
                record.key.decode("utf-8", "replace") if record.key is not None else None,
                record.topic,
                record.partition,
                record.offset,
                value,
            )
        messages.append(message)
        origins.append(record)
    return messages, origins, refused


class OnePass:
    """A batch's messages decoded `CHUNK` records at a time as the handler reads them, and let
    go as soon as it has read them: the next chunk is decoded into the memory the last one
    freed, still in the CPU's cache. Decoding a batch of 20,000 pings before the handler reads
    it, and keeping them all until it returns, cost the tracking service about a tenth more
    CPU a ping, timed, for the same instructions (decision 0189).

    Reading it again decodes it again (a handler placing its refusals: `placed`). Records that
    do not decode are skipped and kept in `refused`; `origin(i)` names message i's record."""

    CHUNK = 16

    __slots__ = ("_read", "_records", "_route", "_started", "origins", "refused")

    def __init__(self, route: Route, records: Sequence[ConsumerRecord]) -> None:
        self._route = route
        self._records = records
        self._read = 0  # records of the first reading decoded so far
        self._started = False
        # the record of each message once one has been skipped; None while message i is record i
        self.origins: list[ConsumerRecord] | None = None
        self.refused: list[tuple[ConsumerRecord, str, str]] = []

    def __iter__(self) -> Iterator[Any]:
        starts = range(0, len(self._records), self.CHUNK)
        if self._started:
            return chain.from_iterable(map(self._again, starts))
        self._started = True
        return chain.from_iterable(map(self._chunk, starts))

    def finish(self) -> None:
        """Decodes what the handler did not read, so that every undecodable record is known."""
        self._started = True
        for start in range(self._read, len(self._records), self.CHUNK):
            self._chunk(start)

    def origin(self, index: int) -> ConsumerRecord:
        """The record message `index` came from."""
        return self._records[index] if self.origins is None else self.origins[index]

    def _chunk(self, start: int) -> list[Any]:
        records = self._records[start : start + self.CHUNK]
        self._read = start + len(records)
        try:
            chunk = _decoded(self._route.decode, records)
        except Exception:  # sorted record by record, which raises what is a bug
            chunk, origins, refused = _sort(self._route, records)
            if refused:
                self.refused.extend(refused)
                if self.origins is None:  # every record before this chunk decoded
                    self.origins = list(self._records[:start])
            if self.origins is not None:
                self.origins.extend(origins)
        else:
            if self.origins is not None:
                self.origins.extend(records)
        return chunk

    def _again(self, start: int) -> list[Any]:
        records = self._records[start : start + self.CHUNK]
        try:
            return _decoded(self._route.decode, records)
        except Exception:
            return _sort(self._route, records)[0]


def placed(batch: Iterable[M], refused: Sequence[tuple[M, str, str]]) -> list[Refusal]:
    """`Refusal`s for the messages a handler refused (each with its reason and detail, in the
    order it read them), placed by reading the batch again. A OnePass decodes it again, so a
    message is found by equality: of identical messages, the first refused is the first."""
    if not refused:
        return []
    found: list[Refusal] = []
    wanted = refused[0][0]
    for index, message in enumerate(batch):
        if message is wanted or message == wanted:
            _, reason, detail = refused[len(found)]
            found.append(Refusal(index, reason, detail))
            if len(found) == len(refused):
                return found
            wanted = refused[len(found)][0]
    raise LookupError(f"{len(refused) - len(found)} refused messages are not in the batch")


class Delivery:
    """Records of one route to its handler: decode, dead-letter what does not decode, hand the
    rest over, and isolate a message that fails for a cause that will not heal."""

    def __init__(self, dead_letters: DeadLetterSink, label: str) -> None:
        self.dead_letters = dead_letters
        self.label = label

    async def route(self, route: Route, records: list[ConsumerRecord]) -> None:
        if route.one_pass:
            await self._one_pass(route, records)
            return
        if route.key_field is None and not route.envelopes:
            # the common case, every record a message. Anything to refuse, or a bug, sends
            # the batch through `_sort`, record by record.
            try:
                every = _decoded(route.decode, records)
            except Exception:  # noqa: S110 - decoded again below, one by one
                pass
            else:
                await self._handle(route, every, records)
                return
        messages, origins, refused = _sort(route, records)
        await self._undecodable(route, refused)
        if messages:
            await self._handle(route, messages, origins)

    async def _undecodable(
        self, route: Route, refused: list[tuple[ConsumerRecord, str, str]]
    ) -> None:
        if not refused:
            return
        if route.dead_letter_invalid:
            await self.dead_letters.send_many(refused)
        else:
            log.debug("undecodable_skipped", topic=refused[0][0].topic, count=len(refused))

    async def _one_pass(self, route: Route, records: list[ConsumerRecord]) -> None:
        batch = OnePass(route, records)
        handle = cast(OnePassHandler, route.handle)
        try:
            refusals = await handle(batch)
        except Exception as error:
            if may_heal(error):
                raise
            messages, origins, refused = _sort(route, records)
            await self._undecodable(route, refused)
            if messages:
                await self._isolate(route, messages, origins, error)
            return
        batch.finish()
        await self._undecodable(route, batch.refused)
        if refusals:
            await self.dead_letters.send_many(
                (batch.origin(r.index), r.reason, r.detail) for r in refusals
            )

    async def _handle(
        self, route: Route, messages: list[Any], origins: list[ConsumerRecord]
    ) -> None:
        try:
            refusals = await route.handle(messages)
        except Exception as error:
            if may_heal(error):
                raise
            await self._isolate(route, messages, origins, error)
            return
        if refusals:
            await self.dead_letters.send_many(
                (origins[r.index], r.reason, r.detail) for r in refusals
            )

    async def _isolate(
        self,
        route: Route,
        messages: list[Any],
        origins: list[ConsumerRecord],
        error: Exception,
    ) -> None:
        """The batch failed for a cause that will not heal: hand each message over alone, so
        only the one that fails again is dead-lettered."""
        if len(messages) == 1:
            await self._poison(origins[0], error)
            return
        log.warning(
            "batch_unprocessable_isolating",
            group=self.label,
            topic=origins[0].topic,
            size=len(messages),
            error=repr(error)[:300],
        )
        for message, origin in zip(messages, origins, strict=True):
            try:
                refusals = await route.handle([message])
            except Exception as failure:
                if may_heal(failure):
                    raise
                await self._poison(origin, failure)
                continue
            if refusals:
                await self.dead_letters.send_many((origin, r.reason, r.detail) for r in refusals)

    async def _poison(self, origin: ConsumerRecord, failure: BaseException) -> None:
        POISON.labels(self.label, origin.topic).inc()
        log.error(
            "message_unprocessable",
            group=self.label,
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            error=repr(failure)[:300],
        )
        detail = f"{type(failure).__name__}: {failure}"
        await self.dead_letters.send(origin, reason="unprocessable", detail=detail)


class Consumer:
    """Runs one subscription until `stop`; raises only when it cannot go on (a bug here, or
    broker errors on fetch for `fetch_give_up_s`), which the host reports as the task dying."""

    def __init__(
        self,
        subscription: Subscription,
        consumer: AIOKafkaConsumer,
        dead_letters: DeadLetters,
        kafka: KafkaSettings,
        assignments: Assignments | None = None,
        *,
        fetch_grace_s: float = 5.0,
        fetch_give_up_s: float = 60.0,
    ) -> None:
        self.sub = subscription
        self.fetch_grace_s = fetch_grace_s
        self.fetch_give_up_s = fetch_give_up_s
        self.consumer = consumer
        self.assignments = assignments
        self.label = subscription.group or subscription.name
        self.delivery = Delivery(dead_letters, self.label)
        self.routes = {kafka.topic(route.topic): route for route in subscription.routes}
        self.order = [kafka.topic(route.topic) for route in subscription.routes]
        self._handled: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._committing: asyncio.Task[None] | None = None
        self._last_commit = time.monotonic()
        # the partitions last told to `on_assigned`, and which of the group's assignments
        self._assigned: tuple[set[TopicPartition], int] | None = None
        self._ends: dict[TopicPartition, int] = {}
        self.started = asyncio.Event()  # the group has given it partitions
        self._fetch_failing_since: float | None = None

    async def run(self, stop: asyncio.Event) -> None:
        if not await self._start(stop):
            return
        self.started.set()
        if self.sub.group is None:
            await self._from_beginning(stop)
        backoff = 0.1
        try:
            while not stop.is_set():
                await self._check_caught_up()
                await self._check_assignment()
                fetched = await self._fetch(stop)
                if fetched:
                    batch = _Batch(fetched)
                    try:
                        with BATCH_SECONDS.labels(self.label).time():
                            await self._deliver(batch)
                    except Exception as error:
                        if not may_heal(error):
                            raise
                        HANDLER_FAILURES.labels(self.label).inc()
                        log.warning("batch_failed_will_retry", group=self.label, error=repr(error))
                        for partition, records in batch.partitions.items():
                            self.consumer.seek(partition, records[0].offset)
                        await sleep_or_stop(stop, backoff)
                        backoff = min(backoff * 2, 5.0)
                        continue
                    backoff = 0.1
                    self._account(batch)
                await self._commit_by_policy(bool(fetched))
                await self._note_read_up_to()
        finally:
            await self._final_commit()

    async def _fetch(self, stop: asyncio.Event) -> dict[TopicPartition, list[ConsumerRecord]]:
        """One fetch, bounded in time. aiokafka's getmany waits for a rebalance to end with no
        bound, and a coordination error (e.g. GroupLoadInProgress in SyncGroup, as a broker
        restarts) is held for the next call while the group waits for it to be read: a fetch
        waiting on the rebalance then waits forever, and the partitions stand still (a chaos
        run: 3 poison records never handled, decision 0157). So a fetch is given up after its
        timeout and `fetch_grace_s`, and the next call reads the held error. A Kafka error on
        fetch is retried with backoff; one that lasts `fetch_give_up_s` ends the task (the
        host then takes readiness down)."""
        bound = self.sub.timeout_ms / 1000 + self.fetch_grace_s
        try:
            fetched = await asyncio.wait_for(
                self.consumer.getmany(
                    timeout_ms=self.sub.timeout_ms, max_records=self.sub.max_records
                ),
                bound,
            )
        except TimeoutError:
            log.info("fetch_still_waiting", group=self.label, waited_s=round(bound, 1))
            return {}
        except KafkaError as error:
            now = time.monotonic()
            if self._fetch_failing_since is None:
                self._fetch_failing_since = now
            if now - self._fetch_failing_since > self.fetch_give_up_s:
                raise
            log.warning("fetch_failed_will_retry", group=self.label, error=repr(error)[:300])
            await sleep_or_stop(stop, 1.0)
            return {}
        self._fetch_failing_since = None
        return fetched

    async def _note_read_up_to(self) -> None:
        """Moves `read_up_to` to the oldest of the assigned partitions' last fetch answers, once
        every one of them is handled up to the end that answer gave; while one is behind, or
        no answer comes (the broker is away), it stays where it was."""
        mark = self.sub.read_up_to
        if mark is None:
            return
        oldest: float | None = None
        for partition in self.consumer.assignment():
            end = self.consumer.last_stable_offset(partition)
            polled = self.consumer.last_poll_timestamp(partition)
            if end is None or polled is None or await self.consumer.position(partition) < end:
                return
            oldest = polled / 1000 if oldest is None else min(oldest, polled / 1000)
        if oldest is not None and (mark.until is None or oldest > mark.until):
            mark.until = oldest

    async def _start(self, stop: asyncio.Event) -> bool:
        """Connect and join the group: aiokafka's start returns once the group has assigned
        partitions, which waits out the session of a member that died without leaving (the
        process this one replaces). False when stopped first."""
        starting = asyncio.ensure_future(self.consumer.start())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            return False
        starting.result()
        return True

    # ---- one batch ----------------------------------------------------------------------

    async def _deliver(self, batch: _Batch) -> None:
        per_topic: dict[str, list[ConsumerRecord]] = {}
        for partition, records in batch.partitions.items():
            per_topic.setdefault(partition.topic, []).extend(records)
        for topic in self.order:
            if topic in per_topic:
                await self.delivery.route(self.routes[topic], per_topic[topic])

    def _account(self, batch: _Batch) -> None:
        per_topic: dict[str, int] = {}
        for partition, records in batch.partitions.items():
            CONSUMED.labels(self.label, partition.topic).inc(len(records))
            self._handled[partition] = records[-1].offset + 1
            highwater = self.consumer.highwater(partition)
            if highwater is not None:
                behind = max(highwater - records[-1].offset - 1, 0)
                per_topic[partition.topic] = per_topic.get(partition.topic, 0) + behind
        for topic, behind in per_topic.items():
            CONSUMER_LAG.labels(self.label, topic).set(behind)

    # ---- commits ------------------------------------------------------------------------

    async def _commit_by_policy(self, fetched: bool) -> None:
        policy = self.sub.commit
        if self.sub.group is None:
            return
        if isinstance(policy, CommitAfterEachBatch):
            if fetched:
                await self._commit(self._uncommitted())
            return
        if time.monotonic() - self._last_commit < policy.seconds:
            return
        if self._committing is not None and not self._committing.done():
            return
        self._last_commit = time.monotonic()
        if offsets := self._uncommitted():
            self._committing = asyncio.create_task(self._commit(offsets))

    def _uncommitted(self) -> dict[TopicPartition, int]:
        """Handled offsets not committed yet, for partitions still assigned here (a rebalance
        may have moved some away: their new owner reads them again, idempotently)."""
        mine = self.consumer.assignment()
        return {
            partition: offset
            for partition, offset in self._handled.items()
            if partition in mine and self._committed.get(partition) != offset
        }

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            # aiokafka retries a commit until the coordinator answers; bounded here so that the
            # loop goes on fetching (the commit is tried again next round)
            await asyncio.wait_for(self.consumer.commit(offsets), COMMIT_BOUND_S)
        except (KafkaError, TimeoutError) as error:  # a rebalance or a broker blip
            log.warning("offset_commit_failed", group=self.label, error=repr(error))
        else:
            self._committed.update(offsets)

    async def _final_commit(self) -> None:
        if self.sub.group is None:
            return
        if self._committing is not None:
            await self._committing
        await self._commit(self._uncommitted())

    async def _check_assignment(self) -> None:
        if self.sub.on_assigned is None:
            return
        held = set(self.consumer.assignment())
        # a rejoin that gives back the same partitions is told too: they were someone else's
        # meanwhile (a dispatch replica paused past its session retakes its region's lease)
        assigned = (held, self.assignments.count if self.assignments is not None else 0)
        if assigned == self._assigned:
            return
        try:
            await self.sub.on_assigned(
                frozenset((self.routes[tp.topic].topic, tp.partition) for tp in held)
            )
        except Exception as error:
            if not may_heal(error):
                raise
            # told again at the next fetch; records fetched meanwhile are recorded, and the
            # owner brings in what it finds open once it is told (kj_dispatch's reconcile)
            log.warning("assignment_not_taken_will_retry", group=self.label, error=repr(error))
            return
        self._assigned = assigned

    # ---- a view read from the beginning -------------------------------------------------

    async def _from_beginning(self, stop: asyncio.Event) -> None:
        while not self.consumer.assignment() and not stop.is_set():
            await self.consumer.getmany(timeout_ms=50)
        assigned = sorted(self.consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
        if self.sub.from_end:
            await self.consumer.seek_to_end(*assigned)
            for partition in assigned:  # resolve the position now, not at the first fetch
                await self.consumer.position(partition)
            return
        await self.consumer.seek_to_beginning(*assigned)
        self._ends = await self.consumer.end_offsets(assigned)

    async def _check_caught_up(self) -> None:
        event = self.sub.caught_up
        if event is None or event.is_set() or self.sub.group is not None:
            return
        for partition, end in self._ends.items():
            if end and await self.consumer.position(partition) < end:
                return
        event.set()
        log.info("caught_up", subscription=self.label, partitions=len(self._ends))
