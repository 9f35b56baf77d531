"""The simulated city as the chaos run drives it, through the external contract only: a 110
integration that retries an alarm until it has an answer, terminals that re-send an answer
(same event id) until the gateway confirms it, and a GPS stream that drops a second's pings
when the broker cannot take them, as a terminal fleet would. Each keeps the ledger."""

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson
import structlog
import websockets
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from kj_runtime.settings import PostgresSettings
from kj_schemas.enums import AlarmCategory
from kj_sim.alarms import AlarmStream
from kj_sim.chaos.ledger import GivenAnswer, Ledger, PostedAlarm
from kj_sim.pings import PingPublisher
from kj_sim.runner import AlarmPoster, SimStats
from kj_sim.terminals import GatewayTerminals

log = structlog.get_logger(__name__)

RETRY_WINDOW_S = 90.0  # how long the 110 integration keeps trying one alarm
CONFIRM_WAIT_S = 3.0  # how long a terminal waits for the gateway's `ok` before re-sending
ANSWER_WINDOW_S = 120.0  # how long a terminal keeps re-sending one answer


class LedgerPoster(AlarmPoster):
    """A 110 integration that keeps trying (connection refused, 5xx, timeouts) with backoff
    until it has a 2xx or 4xx answer, or gives up after RETRY_WINDOW_S."""

    def __init__(self, client: httpx.AsyncClient, token: str, ledger: Ledger) -> None:
        super().__init__(client, token)
        self.ledger = ledger

    async def post(self, body: dict[str, Any], stats: SimStats, *, probe: bool = False) -> None:
        entry = PostedAlarm(body["source_alarm_id"], time.time(), probe=probe)
        self.ledger.alarms.append(entry)
        backoff = 0.25
        while time.time() - entry.first_attempt_at < RETRY_WINDOW_S:
            entry.attempts += 1
            try:
                response = await self.client.post("/v1/alarms", json=body, headers=self.headers)
            except httpx.HTTPError as error:
                entry.last_error = type(error).__name__
            else:
                entry.http_status = response.status_code
                if response.status_code < 500:
                    entry.answered_at = time.time()
                    if response.status_code in (200, 201):
                        answer = response.json()
                        entry.alarm_id = answer.get("alarm_id")
                        entry.status = answer.get("status")
                        entry.tier = answer.get("tier")
                        entry.target_seconds = answer.get("target_seconds")
                        stats.alarms_posted[entry.status or "?"] += 1
                    else:
                        stats.post_errors += 1
                        entry.last_error = response.text[:300]
                    return
                entry.last_error = f"{response.status_code}: {response.text[:200]}"
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
        stats.post_errors += 1


class LedgerTerminals(GatewayTerminals):
    """Terminals whose answers are sent in order per unit and re-sent with the same event id
    until the gateway answers `ok` (or refuses with `error`), as the contract allows."""

    def __init__(self, notify_url: str, *, dev_secret: str, seed: int, ledger: Ledger) -> None:
        # one officer in ten never answers (the demo's three in a hundred): more orders go
        # through the accept timeout, the path a dead dispatcher must not leave hanging
        super().__init__(notify_url, dev_secret=dev_secret, seed=seed, never_answer_share=0.1)
        self.ledger = ledger
        self._queues: dict[str, asyncio.Queue[tuple[GivenAnswer, dict[str, Any]]]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        # the one answer of each unit waiting for the gateway's reply
        self._waiting: dict[str, tuple[GivenAnswer, asyncio.Future[dict[str, Any]]]] = {}
        self._orders: set[asyncio.Task[None]] = set()
        self._withdrawn: set[str] = set()

    async def _on_frame(self, unit_id: str, socket: Any, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in ("ok", "error"):
            self._replied(unit_id, frame)
        elif kind == "work_order" and not (
            frame.get("withdrawn") or frame.get("action") == "withdraw"
        ):
            self.ledger.received.setdefault(str(frame.get("work_order_id")), time.time())
            # the officer reads and answers in a few seconds: meanwhile the socket keeps
            # being read (the gateway's replies to earlier answers, withdrawals)
            task = asyncio.create_task(self._take_order(unit_id, socket, frame))
            self._orders.add(task)
            task.add_done_callback(self._orders.discard)
        else:
            if kind == "work_order":
                self._withdrawn.add(str(frame.get("work_order_id")))
            await super()._on_frame(unit_id, socket, frame)

    async def _take_order(self, unit_id: str, socket: Any, frame: dict[str, Any]) -> None:
        try:
            await super()._on_frame(unit_id, socket, frame)
        except (websockets.WebSocketException, OSError):
            return  # the connection dropped before the ack: the gateway sends it again
        work_order_id = str(frame.get("work_order_id"))
        assert self.fleet is not None
        unit = self.fleet.index[unit_id]
        if work_order_id in self._withdrawn and self.fleet.work_order[unit] == work_order_id:
            self.fleet.stand_down(unit)  # withdrawn while the officer was reading it

    def _replied(self, unit_id: str, frame: dict[str, Any]) -> None:
        waiting = self._waiting.get(unit_id)
        if waiting is None:
            return
        entry, reply = waiting
        same_order = frame.get("ref") == entry.work_order_id
        same_event = frame.get("type") == "error" or frame.get("event_id") == entry.event_id
        if same_order and same_event and not reply.done():
            reply.set_result(frame)

    async def _answer(self, unit_id: str, work_order_id: str, kind: str, **extra: str) -> None:
        """The officer presses: the answer waits in the unit's queue, sent in order."""
        entry = GivenAnswer(unit_id, work_order_id, kind, str(uuid.uuid4()), time.time())
        self.ledger.answers.append(entry)
        frame = {
            "type": "event",
            "work_order_id": work_order_id,
            "kind": kind,
            "event_id": entry.event_id,
            "occurred_at": datetime.fromtimestamp(entry.given_at, UTC).isoformat(),
            **extra,
        }
        queue = self._queues.setdefault(unit_id, asyncio.Queue())
        queue.put_nowait((entry, frame))
        sender = self._senders.get(unit_id)
        if sender is None or sender.done():
            self._senders[unit_id] = asyncio.create_task(self._send_in_order(unit_id, queue))

    async def _send_in_order(
        self, unit_id: str, queue: asyncio.Queue[tuple[GivenAnswer, dict[str, Any]]]
    ) -> None:
        while True:
            entry, frame = await queue.get()
            await self._deliver(unit_id, entry, orjson.dumps(frame).decode())

    async def _deliver(self, unit_id: str, entry: GivenAnswer, text: str) -> None:
        give_up = entry.given_at + ANSWER_WINDOW_S
        first_on: dict[int, float] = {}  # socket -> first write of this answer on it
        while time.time() < give_up:
            socket = self.sockets.get(unit_id)
            if socket is None:  # reconnecting
                await asyncio.sleep(0.2)
                continue
            reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._waiting[unit_id] = (entry, reply)
            try:
                await socket.send(text)
                sent_at = time.time()
                entry.sends.append(sent_at)
                first_on.setdefault(id(socket), sent_at)
                answer = await asyncio.wait_for(reply, CONFIRM_WAIT_S)
            except TimeoutError:
                continue
            except (websockets.WebSocketException, OSError):
                # a closed socket fails at once without yielding: wait for the reconnect, or
                # this loop would hold the event loop until the answer's window ends
                await asyncio.sleep(0.2)
                continue
            finally:
                self._waiting.pop(unit_id, None)
            # one connection delivers in order and the gateway reads it in order: the first
            # write on the connection that got the reply is the one it answered
            entry.replied_send_at = first_on[id(socket)]
            if answer.get("type") == "ok":
                entry.confirmed_at = time.time()
            else:
                entry.refused = str(answer.get("reason"))
            return

    async def close(self) -> None:
        tasks = [*self._senders.values(), *self._orders]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class DroppingPings(PingPublisher):
    """A second's pings that the broker cannot take within the second are dropped and
    counted: the city's clock does not stop for a broker outage."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        super().__init__(producer, topic)
        self.dropped = 0

    async def publish(self, records: list[tuple[bytes, bytes]]) -> float:
        try:
            return await asyncio.wait_for(super().publish(records), 1.0)
        except (TimeoutError, KafkaError):
            self.dropped += len(records)
            return 1.0


class Prober:
    """After a fault, one more alarm a second (a theft, priority 3) until one posted after the
    fault has a work order, so each recovery is measured to about a second."""

    def __init__(
        self,
        stream: AlarmStream,
        poster: LedgerPoster,
        stats: SimStats,
        postgres: PostgresSettings,
        *,
        started: float,
    ) -> None:
        self.stream = stream
        self.poster = poster
        self.stats = stats
        self.postgres = postgres
        self.started = started
        self._tasks: set[asyncio.Task[None]] = set()

    async def probe(self, fault_at: float, *, window_s: float) -> None:
        sent: list[str] = []
        give_up = fault_at + window_s
        while time.time() < give_up:
            body = self.stream.single(time.time() - self.started, AlarmCategory.theft)
            sent.append(body["source_alarm_id"])
            task = asyncio.create_task(self.poster.post(body, self.stats, probe=True))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(1.0)
            if await self._served(sent):
                return

    async def _served(self, source_alarm_ids: list[str]) -> bool:
        try:
            connection = await asyncio.wait_for(asyncpg.connect(self.postgres.dsn()), 2)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return False
        try:
            return bool(
                await connection.fetchval(
                    """select exists (select 1 from work_orders w join alarms a using (alarm_id)
                       where w.role = 'primary' and a.source_alarm_id = any($1::text[]))""",
                    source_alarm_ids,
                    timeout=2,
                )
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
