"""The terminals connected to this replica. Each session pumps its unit's unacknowledged
deliveries from PostgreSQL in order whenever it is poked: by this replica's consumer after a
commit, or by a NOTIFY from whichever replica stored the work order."""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from fastapi import WebSocket

from kj_notify.adapters import deliveries
from kj_notify.domain.frames import delivery_frame
from kj_notify.metrics import TERMINALS_CONNECTED

log = structlog.get_logger(__name__)


class TerminalSession:
    def __init__(self, unit_id: str, websocket: WebSocket, pool: asyncpg.Pool) -> None:
        self.unit_id = unit_id
        self.websocket = websocket
        self.pool = pool
        self.wake = asyncio.Event()
        self.wake.set()  # on connect: everything not yet acknowledged, in order
        self.last_sent = 0
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(frame)

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name=f"pump-{self.unit_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _pump(self) -> None:
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while True:
                    batch = await deliveries.unacknowledged(self.pool, self.unit_id, self.last_sent)
                    if not batch:
                        break
                    for delivery in batch:
                        await self.send(
                            delivery_frame(
                                delivery_id=delivery.delivery_id,
                                work_order_id=delivery.work_order_id,
                                action=delivery.action,
                                withdrawn=delivery.withdrawn,
                                work_order=delivery.payload,
                            )
                        )
                        self.last_sent = delivery.delivery_id
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the socket went away or the database hiccuped
            log.info("terminal_pump_ended", unit_id=self.unit_id, error=type(error).__name__)
            with contextlib.suppress(Exception):
                await self.websocket.close(code=1011)


class Hub:
    def __init__(self) -> None:
        self.sessions: dict[str, TerminalSession] = {}

    async def join(self, session: TerminalSession) -> None:
        previous = self.sessions.get(session.unit_id)
        self.sessions[session.unit_id] = session
        TERMINALS_CONNECTED.set(len(self.sessions))
        if previous is not None:
            await previous.stop()
            with contextlib.suppress(Exception):
                await previous.websocket.close(code=4000, reason="replaced by a newer connection")
        session.start()

    async def leave(self, session: TerminalSession) -> None:
        if self.sessions.get(session.unit_id) is session:
            del self.sessions[session.unit_id]
            TERMINALS_CONNECTED.set(len(self.sessions))
        await session.stop()

    def poke(self, unit_id: str) -> None:
        session = self.sessions.get(unit_id)
        if session is not None:
            session.wake.set()

    def poke_all(self) -> None:
        for session in self.sessions.values():
            session.wake.set()

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            await self.leave(session)
            with contextlib.suppress(Exception):
                await session.websocket.close(code=1001, reason="gateway shutting down")


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _connection: event.set()


async def listen_for_deliveries(pool_dsn: str, hub: Hub, stop: asyncio.Event) -> None:
    """Wake the session of a unit whenever any replica stores a delivery for it. After a
    (re)connect every session is woken, so nothing announced while deaf is missed."""
    backoff = 0.2
    while not stop.is_set():
        try:
            connection = await asyncpg.connect(pool_dsn)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("delivery_listener_connect_failed", error=type(error).__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        backoff = 0.2
        try:
            await connection.add_listener(
                deliveries.NEW_DELIVERY_CHANNEL, lambda _c, _p, _ch, unit: hub.poke(unit)
            )
            hub.poke_all()
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
