"""The terminals connected to this replica. A session sends its unit's deliveries in order:
new ones handed over by this replica's consumer right after its commit, and, on connect or
when another replica announces one (PostgreSQL NOTIFY), a sweep of everything the unit has not
acknowledged. Receipts from terminals are recorded in small batches."""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from fastapi import WebSocket

from kj_notify.domain.frames import delivery_frame
from kj_notify.metrics import TERMINALS_CONNECTED
from kj_notify.service_layer import terminals
from kj_notify.service_layer.terminals import Receipt, acknowledge
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.outbox import Outbox

log = structlog.get_logger(__name__)

SWEEP_BACKOFF_S = 0.2
SWEEP_BACKOFF_MAX_S = 5.0


class TerminalSession:
    def __init__(self, unit_id: str, websocket: WebSocket, pool: asyncpg.Pool) -> None:
        self.unit_id = unit_id
        self.websocket = websocket
        self.pool = pool
        self.wake = asyncio.Event()
        self.wake.set()
        self.needs_sweep = True  # on connect: everything not yet acknowledged, in order
        self.offered: list[terminals.Delivery] = []
        self.sent: set[int] = set()  # delivery ids sent on this connection
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(frame)

    def offer(self, delivery: terminals.Delivery) -> None:
        self.offered.append(delivery)
        self.wake.set()

    def sweep(self) -> None:
        self.needs_sweep = True
        self.wake.set()

    def acknowledged(self, delivery_id: int) -> None:
        self.sent.discard(delivery_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name=f"pump-{self.unit_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _pump(self) -> None:
        backoff = SWEEP_BACKOFF_S
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                if self.needs_sweep:
                    self.needs_sweep = False
                    try:
                        owed = await terminals.unacknowledged(self.pool, self.unit_id)
                    except UNAVAILABLE as error:
                        # the database restarts: the socket stays up and the sweep is tried
                        # again (issue 14: it closed the terminal's socket with 1011)
                        log.warning("terminal_sweep_deferred", error=type(error).__name__)
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, SWEEP_BACKOFF_MAX_S)
                        self.sweep()
                        continue
                    backoff = SWEEP_BACKOFF_S
                    for delivery in owed:
                        await self._deliver(delivery)
                offered, self.offered = self.offered, []
                for delivery in offered:
                    await self._deliver(delivery)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the socket went away
            log.info("terminal_pump_ended", unit_id=self.unit_id, error=type(error).__name__)
            with contextlib.suppress(Exception):
                await self.websocket.close(code=1011)

    async def _deliver(self, delivery: terminals.Delivery) -> None:
        if delivery.delivery_id in self.sent:
            return
        await self.send(
            delivery_frame(
                delivery_id=delivery.delivery_id,
                work_order_id=delivery.work_order_id,
                action=delivery.action,
                withdrawn=delivery.withdrawn,
                work_order=delivery.payload,
            )
        )
        self.sent.add(delivery.delivery_id)


class Hub:
    def __init__(self, replica: str) -> None:
        self.replica = replica
        self.sessions: dict[str, TerminalSession] = {}
        # deliveries pushed while their transaction commits: receipts and answers about them
        # wait for the outcome (decision 0042)
        self._settling_deliveries: dict[int, tuple[terminals.Delivery, asyncio.Future[None]]] = {}
        self._settling_orders: dict[UUID, asyncio.Future[None]] = {}

    async def join(self, session: TerminalSession) -> None:
        previous = self.sessions.get(session.unit_id)
        self.sessions[session.unit_id] = session
        TERMINALS_CONNECTED.set(len(self.sessions))
        if previous is not None:
            await previous.stop()
            with contextlib.suppress(Exception):
                await previous.websocket.close(code=4000, reason="replaced by a newer connection")
        # pushed before this session joined, committing now: its sweep may not see them yet
        for delivery, _ in list(self._settling_deliveries.values()):
            if delivery.unit_id == session.unit_id:
                session.offer(delivery)
        session.start()

    async def leave(self, session: TerminalSession) -> None:
        if self.sessions.get(session.unit_id) is session:
            del self.sessions[session.unit_id]
            TERMINALS_CONNECTED.set(len(self.sessions))
        await session.stop()

    def offer(self, delivery: terminals.Delivery) -> None:
        """A delivery this replica just stored: sent without reading it back."""
        session = self.sessions.get(delivery.unit_id)
        if session is not None:
            session.offer(delivery)

    def push_before_commit(self, stored: list[terminals.Delivery]) -> asyncio.Future[None]:
        """Push deliveries whose transaction is committing now. If it fails, the terminal
        holds a delivery id that matches no row: its ack changes nothing, and the work order
        is stored again (new id) when the batch is retried or re-read after a restart, then
        sent again and dropped by the terminal as a repeat. What the terminal says about
        these deliveries meanwhile waits for `settle`, so an ack never races the COMMIT and
        finds no row (which would leave a delivered order counted as owed)."""
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for delivery in stored:
            self._settling_deliveries[delivery.delivery_id] = (delivery, outcome)
            self._settling_orders[delivery.work_order_id] = outcome
            self.offer(delivery)
        return outcome

    def settle(self, stored: list[terminals.Delivery], outcome: asyncio.Future[None]) -> None:
        """The transaction behind `push_before_commit` is over (committed or not)."""
        for delivery in stored:
            settling = self._settling_deliveries.get(delivery.delivery_id)
            if settling is not None and settling[1] is outcome:
                del self._settling_deliveries[delivery.delivery_id]
            if self._settling_orders.get(delivery.work_order_id) is outcome:
                del self._settling_orders[delivery.work_order_id]
        if not outcome.done():
            outcome.set_result(None)

    async def settled(
        self, *, delivery_id: int | None = None, work_order_id: UUID | None = None
    ) -> None:
        """Returns once the delivery (or work order) is not in a transaction still committing."""
        outcome: asyncio.Future[None] | None = None
        if delivery_id is not None:
            settling = self._settling_deliveries.get(delivery_id)
            outcome = settling[1] if settling is not None else None
        else:
            outcome = self._settling_orders.get(work_order_id) if work_order_id else None
        if outcome is not None:
            await asyncio.shield(outcome)

    def announced(self, payload: str) -> None:
        """A NOTIFY `replica|unit_id`; another replica's deliveries are swept from the table."""
        replica, _, unit_id = payload.partition("|")
        if replica != self.replica:
            session = self.sessions.get(unit_id)
            if session is not None:
                session.sweep()

    def sweep_all(self) -> None:
        for session in self.sessions.values():
            session.sweep()

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            await self.leave(session)
            with contextlib.suppress(Exception):
                await session.websocket.close(code=1001, reason="gateway shutting down")


class ReceiptBatcher:
    """Receipts from all terminals, recorded a batch per transaction. While the database does
    not answer, the batch is tried again with backoff (the queue keeps what comes meanwhile);
    a batch the database refuses is recorded receipt by receipt, so one bad receipt loses only
    itself. A receipt lost here (queue full) only means the delivery is sent again on the next
    reconnect."""

    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, hub: Hub, limit: int = 20_000) -> None:
        self.pool = pool
        self.outbox = outbox
        self.hub = hub
        self.queue: asyncio.Queue[Receipt] = asyncio.Queue(limit)

    def put(self, receipt: Receipt) -> None:
        try:
            self.queue.put_nowait(receipt)
        except asyncio.QueueFull:
            log.warning("receipt_dropped_queue_full", unit_id=receipt.unit_id)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                first = await asyncio.wait_for(self.queue.get(), timeout=0.5)
                batch = [first]
                while not self.queue.empty() and len(batch) < 500:
                    batch.append(self.queue.get_nowait())
                recorded = await self._record(batch, stop)
                for receipt in recorded:
                    session = self.hub.sessions.get(receipt.unit_id)
                    if session is not None:
                        session.acknowledged(receipt.delivery_id)

    async def _record(self, batch: list[Receipt], stop: asyncio.Event) -> list[Receipt]:
        """The receipts of `batch` that are recorded (all of them, unless refused)."""
        backoff = SWEEP_BACKOFF_S
        while True:
            try:
                await acknowledge(self.pool, self.outbox, batch)
                return batch
            except UNAVAILABLE as error:
                log.warning("receipts_not_recorded_yet", count=len(batch), error=repr(error))
                if stop.is_set():
                    return []
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, SWEEP_BACKOFF_MAX_S)
            except asyncpg.PostgresError:  # refused: a bug or bad data, not an outage
                if len(batch) == 1:
                    log.exception("receipt_refused", unit_id=batch[0].unit_id)
                    return []
                recorded: list[Receipt] = []
                for receipt in batch:  # one at a time: only the bad one is lost
                    recorded += await self._record([receipt], stop)
                return recorded


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _connection: event.set()


async def listen_for_deliveries(pool_dsn: str, hub: Hub, stop: asyncio.Event) -> None:
    """Hear of deliveries other replicas store. After a (re)connect every session sweeps, so
    nothing announced while deaf is missed."""
    backoff = 0.2
    while not stop.is_set():
        try:
            connection = await asyncpg.connect(pool_dsn)
        except (*UNAVAILABLE, asyncpg.PostgresError) as error:
            # refused (credentials, no such database) is tried again too, logged as an error
            refused = not isinstance(error, UNAVAILABLE)
            (log.error if refused else log.warning)(
                "delivery_listener_connect_failed", error=type(error).__name__
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        backoff = 0.2
        try:
            await connection.add_listener(
                terminals.NEW_DELIVERY_CHANNEL, lambda _c, _p, _ch, payload: hub.announced(payload)
            )
            hub.sweep_all()
            closed = asyncio.Event()
            connection.add_termination_listener(_setter(closed))
            stop_wait = asyncio.ensure_future(stop.wait())
            closed_wait = asyncio.ensure_future(closed.wait())
            await asyncio.wait({stop_wait, closed_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            closed_wait.cancel()
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
