"""Status callbacks to 110 integrations. The consumer records each change owed to a registered
integration (PostgreSQL is the queue); one worker per destination posts them in order, signed
as Standard Webhooks (decision 0127), retrying with exponential backoff and jitter for a bounded
window, then dead-letters with the cause. A slow or dead receiver only ever holds up its own
worker."""

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import httpx
import stamina
import structlog

from kj_notify.adapters import callbacks as store
from kj_notify.domain.signing import signed_headers
from kj_notify.metrics import CALLBACK_ATTEMPTS, CALLBACK_FAILURES
from kj_notify.service_layer.hotline import HOTLINE, alarm_of, ticket_of
from kj_notify.service_layer.receipts import receipt
from kj_notify.service_layer.terminals import SERVICE
from kj_runtime.consume import Inbound
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.outbox import Outbox
from kj_schemas.alarms import AlarmStatusChanged
from kj_schemas.base import utcnow
from kj_schemas.deadletter import DeadLetter
from kj_schemas.enums import NotificationChannel, ReceiptStatus
from kj_schemas.topics import DEADLETTERS, NOTIFY_RECEIPTS

log = structlog.get_logger(__name__)


class CallbackFailed(Exception):
    """One attempt failed; the message is the cause a person reads in the dead letter."""


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float
    window_s: float
    wait_initial_s: float
    wait_max_s: float

    @property
    def lease_s(self) -> float:
        return self.timeout_s + self.wait_max_s + 10.0


async def take_status_changes(
    pool: asyncpg.Pool, changes: Sequence[Inbound[AlarmStatusChanged]]
) -> set[str]:
    """Record each change owed to a registered integration, with the record as it came (its
    bytes are the callback's body); returns the sources with new work."""
    sources: set[str] = set()
    async with pool.acquire() as connection, connection.transaction():
        for inbound in changes:
            change = inbound.message
            if not await store.registered(connection, change.source):
                continue
            if await store.owe(connection, change.message_id, change.source, inbound):
                sources.add(change.source)
    return sources


class CallbackWorkers:
    """One task per destination with work; bounded by the number of integrations."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        outbox: Outbox,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        fixed: Mapping[str, store.Destination] | None = None,
    ) -> None:
        self.pool = pool
        self.outbox = outbox
        self.client = client
        self.policy = policy
        # destinations set by the deployment rather than registered (the 12345 hotline)
        self.fixed = dict(fixed or {})
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}

    def wake(self, source: str) -> None:
        self._wake.setdefault(source, asyncio.Event()).set()
        task = self._tasks.get(source)
        if task is None or task.done():
            self._tasks[source] = asyncio.create_task(self._run(source), name=f"callback-{source}")

    async def resume_pending(self) -> None:
        for source in await store.sources_with_pending(self.pool):
            self.wake(source)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, source: str) -> None:
        wake = self._wake[source]
        while True:
            wake.clear()
            try:
                owed = await store.claim_next(self.pool, source, self.policy.lease_s)
                if owed is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout=self.policy.lease_s)
                    continue
                await self._deliver(owed)
            except UNAVAILABLE as error:
                log.warning("callback_worker_db_error", source=source, error=type(error).__name__)
                await asyncio.sleep(1.0)
            except Exception:  # never let one destination's surprise end its worker for good
                log.exception("callback_worker_error", source=source)
                await asyncio.sleep(1.0)

    async def _deliver(self, owed: store.OwedCallback) -> None:
        cause: str | None = None
        answer = b""
        try:
            async for attempt in stamina.retry_context(
                on=CallbackFailed,
                attempts=None,
                timeout=self.policy.window_s,
                wait_initial=self.policy.wait_initial_s,
                wait_max=self.policy.wait_max_s,
                wait_jitter=self.policy.wait_initial_s,
            ):
                with attempt:
                    answer = await self._post_once(owed)
        except CallbackFailed as error:
            cause = str(error)
        await self._finish(owed, cause, answer)

    async def _post_once(self, owed: store.OwedCallback) -> bytes:
        """The receiver's answer, once it took the message (2xx)."""
        destination = self.fixed.get(owed.source) or await store.destination(self.pool, owed.source)
        if destination is None:
            raise CallbackFailed("the integration no longer has a callback URL")
        headers = signed_headers(
            destination.signing_secrets, str(owed.message_id), owed.body, utcnow()
        )
        try:
            response = await self.client.post(
                destination.url,
                content=owed.body,
                headers=headers,
                timeout=self.policy.timeout_s,
            )
        except httpx.TimeoutException:
            cause = f"no answer within {self.policy.timeout_s:g}s"
        except httpx.HTTPError as error:
            cause = f"{type(error).__name__}: {error}"[:300]
        else:
            if response.is_success:
                CALLBACK_ATTEMPTS.labels("delivered").inc()
                return response.content[:4096]
            cause = f"HTTP {response.status_code}"
        CALLBACK_ATTEMPTS.labels("failed").inc()
        await store.attempted(self.pool, owed.id, cause, self.policy.lease_s)
        raise CallbackFailed(cause)

    async def _finish(self, owed: store.OwedCallback, cause: str | None, answer: bytes) -> None:
        now = utcnow()
        status = ReceiptStatus.failed if cause else ReceiptStatus.delivered
        hotline = owed.source == HOTLINE
        # the hotline's acknowledgement (its ticket) goes on the alarm's timeline (0116)
        ticket = ticket_of(answer) if hotline and not cause else None
        message = receipt(
            channel=NotificationChannel.hotline if hotline else NotificationChannel.callback,
            recipient=owed.source,
            ref_id=owed.message_id,
            ref=str(owed.message_id),
            status=status,
            at=now,
            detail=cause or ticket,
            alarm_id=alarm_of(owed.body) if hotline else None,
        )
        async with self.pool.acquire() as connection, connection.transaction():
            await store.finish(connection, owed.id, "dead" if cause else "delivered", cause)
            await self.outbox.put(connection, NOTIFY_RECEIPTS.name, str(owed.message_id), message)
            if cause:
                letter = DeadLetter(
                    source_topic=owed.source_topic,
                    partition=owed.source_partition,
                    offset=owed.source_offset,
                    key=owed.source,
                    value=owed.body.decode("utf-8", "replace"),
                    reason="hotline_failed" if hotline else "callback_failed",
                    detail=f"{'hand-off' if hotline else 'callback'} to {owed.source} failed for "
                    f"{self.policy.window_s:g}s; last cause: {cause}",
                    service=SERVICE,
                    failed_at=now,
                )
                await self.outbox.put(connection, DEADLETTERS.name, owed.source_topic, letter)
        if cause:
            CALLBACK_FAILURES.inc()
            log.info("callback_dead_lettered", source=owed.source, cause=cause)


async def register(pool: asyncpg.Pool, source: str, url: str, signing_secret: str) -> None:
    """An integration's callback URL and signing secret (the HTTP route's one write)."""
    await store.register(pool, source, url, signing_secret)
