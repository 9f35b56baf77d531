"""The transactional outbox. A handler writes its state and `Outbox.put(...)` in one
PostgreSQL transaction; `OutboxRelay` publishes the rows to Kafka in id order with acks=all
and deletes them once the broker has them. At least once: a crash between publish and delete
publishes again, and consumers deduplicate by message id."""

import asyncio
import re
import time
from collections.abc import Callable, Sequence

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge
from pydantic import BaseModel

from kj_runtime.batch_publisher import BatchSender
from kj_runtime.lifecycle import sleep_or_stop, wait_any
from kj_runtime.settings import KafkaSettings
from kj_schemas.codec import encode

log = structlog.get_logger(__name__)

OUTBOX_DEPTH = Gauge("kj_outbox_depth", "Rows waiting in the outbox", ["stream"])
OUTBOX_OLDEST_AGE = Gauge(
    "kj_outbox_oldest_age_seconds", "Age of the oldest row waiting in the outbox", ["stream"]
)
OUTBOX_PUBLISHED = Counter(
    "kj_outbox_published_total", "Outbox rows published to Kafka", ["stream", "topic"]
)
OUTBOX_ERRORS = Counter(
    "kj_outbox_relay_errors_total", "Relay attempts that failed and will be retried", ["stream"]
)


def rows_sql(stream: str, topics: str, keys: str, values: str) -> str:
    """The outbox rows as one part of a caller's own statement (a data-modifying CTE's body),
    for a writer that puts its tables and its messages in one round trip: the rows for `stream`,
    in the order of the arrays `topics`, `keys` and `values`. Each argument is a placeholder of
    the caller's statement (`$3`), which notifies `Outbox.channel` itself. Only this module
    names the table (issue 13)."""
    if not all(re.fullmatch(r"\$[1-9][0-9]*", p) for p in (stream, topics, keys, values)):
        raise ValueError("rows_sql takes placeholders such as '$3', never values")
    return (
        "insert into outbox (stream, topic, key, value) "  # noqa: S608 - placeholders only
        f"select {stream}, topic, key, value "
        f"from unnest({topics}::text[], {keys}::bytea[], {values}::bytea[]) "
        "with ordinality as o(topic, key, value, position) order by position"
    )


async def rows_waiting(connection: asyncpg.Connection) -> int:
    """Rows of every stream not yet published (benchmarks wait for 0)."""
    return int(await connection.fetchval("select count(*) from outbox"))


class Outbox:
    """Writes outgoing messages inside the caller's transaction."""

    def __init__(self, stream: str, kafka: KafkaSettings | None = None) -> None:
        self.stream = stream
        self.kafka = kafka or KafkaSettings()
        self._relays: list[Callable[[], None]] = []  # wakers of this process's leading relay

    def committed(self) -> None:
        """A transaction that put rows here has committed: this process's relay, if it leads,
        wakes now. PostgreSQL's notification wakes it too, but later: through the listening
        connection's backend, one more process to be scheduled on a busy machine. Relays of
        other processes still wake on the notification."""
        for wake in self._relays:
            wake()

    def topic(self, name: str) -> str:
        """The deployment's name of a catalogue topic (KafkaSettings.topic)."""
        return self.kafka.topic(name)

    @property
    def channel(self) -> str:
        return f"outbox_{self.stream}"

    async def put(
        self, connection: asyncpg.Connection, topic: str, key: str, message: BaseModel
    ) -> None:
        # one statement, one round trip: on a busy machine every round trip inside the caller's
        # transaction is a wait for the database's process and then for the caller's. The
        # notification is delivered at commit, so the relay wakes only for rows it can see
        await connection.execute(
            "with written as (insert into outbox (stream, topic, key, value) "
            "values ($1, $2, $3, $4) returning 1) select pg_notify($5, '') from written",
            self.stream,
            self.topic(topic),
            key.encode(),
            encode(message),
            self.channel,
        )

    async def put_many(
        self,
        connection: asyncpg.Connection,
        topic: str,
        messages: Sequence[tuple[str, BaseModel]],
    ) -> None:
        """Write (key, message) pairs for `topic` in the caller's transaction, in order, with
        one statement and one wake-up (a batch of hundreds costs one round trip, not two each)."""
        if not messages:
            return
        await connection.execute(
            "with written as (insert into outbox (stream, topic, key, value) "
            "select $1, $2, m.key, m.value from unnest($3::bytea[], $4::bytea[]) "
            "with ordinality as m(key, value, n) order by m.n returning 1) "
            "select pg_notify($5, '') from (select 1 from written limit 1) as any_written",
            self.stream,
            self.topic(topic),
            [key.encode() for key, _ in messages],
            [encode(message) for _, message in messages],
            self.channel,
        )


class OutboxRelay:
    """One relay per stream publishes; others wait on the stream's advisory lock."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer_factory: Callable[[], AIOKafkaProducer],
        outbox: Outbox,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
    ) -> None:
        self.pool = pool
        self.producer_factory = producer_factory
        self.outbox = outbox
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._leader: asyncpg.Connection | None = None  # the lock's connection, while leading
        self._producer: AIOKafkaProducer | None = None
        self._last_gauge = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                async with self.pool.acquire() as lock_connection:
                    await self._lead(lock_connection, stop)
                backoff = 0.2
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                OUTBOX_ERRORS.labels(self.outbox.stream).inc()
                log.warning("outbox_relay_db_error", stream=self.outbox.stream, error=str(error))
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
        await self._stop_producer()

    async def _lead(self, connection: asyncpg.Connection, stop: asyncio.Event) -> None:
        lock_key = f"outbox:{self.outbox.stream}"
        while not await connection.fetchval("select pg_try_advisory_lock(hashtext($1))", lock_key):
            await sleep_or_stop(stop, self.poll_interval_s)
            if stop.is_set():
                return
        await connection.add_listener(self.outbox.channel, self._on_notify)
        # the passes run on this connection: a read and a delete, two round trips. The delete
        # need not wait for the WAL flush: if a database crash loses it, the rows are published
        # again, and consumers deduplicate by message id. (The pool resets the setting when the
        # connection goes back to it.)
        await connection.execute("set synchronous_commit to off")
        self._leader = connection
        self.outbox._relays.append(self._on_notify)
        try:
            failures = 0
            while not stop.is_set():
                self._wake.clear()
                try:
                    published = await self.relay_once()
                    failures = 0
                except (KafkaError, OSError, TimeoutError) as error:
                    failures += 1
                    OUTBOX_ERRORS.labels(self.outbox.stream).inc()
                    log.warning(
                        "outbox_relay_kafka_error", stream=self.outbox.stream, error=repr(error)
                    )
                    await self._stop_producer()
                    await sleep_or_stop(stop, min(0.2 * 2**failures, 5.0))
                    continue
                await self._update_gauges()
                if published < self.batch_size:
                    await wait_any(self._wake, stop, self.poll_interval_s)
        finally:
            self.outbox._relays.remove(self._on_notify)
            self._leader = None
            await connection.remove_listener(self.outbox.channel, self._on_notify)
            await connection.execute("select pg_advisory_unlock(hashtext($1))", lock_key)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def relay_once(self) -> int:
        """One pass: publish up to `batch_size` rows in id order, then delete them."""
        if self._leader is not None:
            return await self._pass(self._leader)
        async with self.pool.acquire() as connection:  # no transaction held over the send
            await connection.execute("set synchronous_commit to off")  # reset on release
            return await self._pass(connection)

    async def _pass(self, connection: asyncpg.Connection) -> int:
        rows = await connection.fetch(
            "select id, topic, key, value from outbox where stream = $1 order by id limit $2",
            self.outbox.stream,
            self.batch_size,
        )
        if not rows:
            return 0
        # in record batches per topic and partition: a send per row cost about 15 us of each
        await BatchSender(await self._ensure_producer()).send(
            (row["topic"], row["key"], row["value"]) for row in rows
        )
        await connection.execute(
            "delete from outbox where id = any($1::bigint[])", [row["id"] for row in rows]
        )
        per_topic: dict[str, int] = {}
        for row in rows:
            per_topic[row["topic"]] = per_topic.get(row["topic"], 0) + 1
        for topic, count in per_topic.items():  # one label lookup a topic, not a row
            OUTBOX_PUBLISHED.labels(self.outbox.stream, topic).inc(count)
        return len(rows)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _stop_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await producer.stop()
            except (KafkaError, OSError) as error:  # pragma: no cover - best effort
                log.warning("outbox_producer_stop_failed", error=repr(error))

    async def _update_gauges(self) -> None:
        now = time.monotonic()
        if now - self._last_gauge < 1.0:
            return
        self._last_gauge = now
        row = await self.pool.fetchrow(
            "select count(*) as depth, extract(epoch from now() - min(created_at)) as age "
            "from outbox where stream = $1",
            self.outbox.stream,
        )
        OUTBOX_DEPTH.labels(self.outbox.stream).set(row["depth"])
        OUTBOX_OLDEST_AGE.labels(self.outbox.stream).set(float(row["age"] or 0.0))
