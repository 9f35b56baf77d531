"""The JT/T 808 TCP server: one asyncio protocol object per terminal connection, no task per
connection (memory per connection is the transport, this object and its conversation).

A read is only queued when it arrives; the server takes the queued reads in chunks, one chunk
per turn of the event loop, so 10,000 terminals reporting in the same second never hold the
loop from the broker, the registry and HTTP for long. Each read is cut into frames; a plain
location report is read and answered in one step (kj_devices.domain.jt808.quick_report), any
other frame is decoded and handed to the connection's conversation
(kj_devices.domain.conversation); the replies are written at once, the fixes go to the ping sink
in one call per chunk. While too many reads wait, or too many fixes wait for the broker, the
connections that send more are not read (TCP pushes back on them) until both are short again.

A connection is dropped on its own, the others untouched, when it: sends garbage (a frame too
long, or `max_bad_frames` bad frames in a row, or any before it has authenticated), does not
authenticate in time, falls silent, does not read what it is sent (its write buffer passes the
limit), or its device is revoked."""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import cast
from uuid import UUID

import structlog

from kj_devices.domain.binding import Binding
from kj_devices.domain.conversation import Conversation
from kj_devices.domain.fixes import Fix
from kj_devices.domain.jt808.framing import FrameError, FrameSplitter
from kj_devices.domain.jt808.header import decode
from kj_devices.metrics import CLOSED, CONNECTIONS, FIXES, FRAMES, HELD, SIGNED_IN
from kj_devices.service_layer.terminals import Terminals

log = structlog.get_logger(__name__)
FRAMES_OK = FRAMES.labels("ok")  # bound once: labels() costs more than inc() on the hot path
FIXES_ACCEPTED = FIXES.labels("jt808", "accepted")


@dataclass(frozen=True)
class Limits:
    utc_offset: timedelta = timedelta(hours=8)
    auth_timeout_s: float = 30.0
    idle_timeout_s: float = 180.0
    write_limit_bytes: int = 64 * 1024
    max_bad_frames: int = 3
    # fixes waiting for the broker past which connections stop being read until the queue
    # drains (TCP pushes back on the terminals; the loop keeps time for the broker and HTTP)
    backlog_fixes: int = 20_000
    # reads taken in one turn of the event loop, and reads waiting past which connections
    # stop being read until the inbox is empty
    chunk_reads: int = 1_000
    inbox_reads: int = 20_000


class Connection(asyncio.Protocol):
    __slots__ = (
        "bad",
        "binding",
        "closing",
        "opened_at",
        "seen_at",
        "server",
        "splitter",
        "talk",
        "transport",
    )

    def __init__(self, server: "Jt808Server") -> None:
        self.server = server
        self.talk = Conversation(server.terminals.lookup, server.limits.utc_offset)
        self.splitter = FrameSplitter()
        self.transport: asyncio.Transport | None = None
        self.binding: Binding | None = None
        self.bad = 0
        self.closing = False
        self.opened_at = server.now()
        self.seen_at = server.clock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are no asyncio.Transport subclass, but have its methods
        self.transport = transport = cast(asyncio.Transport, transport)
        transport.set_write_buffer_limits(high=self.server.limits.write_limit_bytes)
        self.server.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.closed(self)

    def pause_writing(self) -> None:
        self.drop("slow_reader")  # the peer does not read what it is sent

    def drop(self, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        CLOSED.labels(reason).inc()
        if self.transport is not None:
            self.transport.abort() if reason == "slow_reader" else self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Queued for the server's next turn: reads are cheap, frames are read in chunks."""
        if not self.closing:
            self.seen_at = self.server.clock
            self.server.received(self, data)

    def take(self, data: bytes, fixes: list[Fix]) -> int:
        """One read: its frames answered, its fixes added to `fixes`; returns the frames."""
        escaped = self.splitter.one(data)
        if escaped is not None:
            quick = self.talk.report(escaped)
            if quick is not None:  # nearly every read: one plain location report
                assert self.transport is not None
                self.bad = 0
                self.transport.write(quick[0])
                fixes.append(quick[1])
                return 1
            frames = [escaped]
        else:
            try:
                frames = self.splitter.feed(data)
            except FrameError as error:
                FRAMES.labels(error.reason).inc()
                self.drop("garbage")
                return 0
        self._frames(frames, fixes)
        return len(frames)

    def _frames(self, frames: list[bytes], fixes: list[Fix]) -> None:
        """Several frames in one read (a terminal's burst, or reports that queued while the
        loop was busy): plain reports still take the quick path, and the read's answers go out
        in one write (one send for the lot, not one a frame). Answers are written before
        anything that writes or closes on its own (sign-in's held text, a drop)."""
        server = self.server
        transport = self.transport
        assert transport is not None
        report = self.talk.report
        replies: list[bytes] = []
        for escaped in frames:
            quick = report(escaped)
            if quick is not None:
                self.bad = 0
                replies.append(quick[0])
                fixes.append(quick[1])
                continue
            try:
                message = decode(escaped)
            except FrameError as error:
                FRAMES.labels(error.reason).inc()
                self.bad += 1
                if self.binding is None or self.bad >= server.limits.max_bad_frames:
                    self._write(replies)
                    self.drop("garbage")
                    return
                continue
            self.bad = 0
            outcome = self.talk.receive(message)
            replies += outcome.replies
            if outcome.fixes:
                fixes += outcome.fixes
            for reason in outcome.refused_fixes:
                FIXES.labels("jt808", reason).inc()
            if self.binding is None and self.talk.binding is not None:
                self.binding = self.talk.binding
                replies = self._write(replies)
                server.authenticated(self)
            if outcome.acknowledged is not None and self.binding is not None:
                server.acknowledged(self.binding, outcome.acknowledged)
            if outcome.close is not None:
                self._write(replies)
                self.drop(outcome.close)
                return
        self._write(replies)

    def _write(self, replies: list[bytes]) -> list[bytes]:
        """Writes the answers so far in one send; returns an empty list for the next ones."""
        if replies and self.transport is not None and not self.closing:
            self.transport.write(replies[0] if len(replies) == 1 else b"".join(replies))
        return []

    # ---- TextLine -----------------------------------------------------------------------

    def send_text(self, text: str, work_order_id: UUID) -> None:
        if self.transport is not None and not self.closing:
            self.transport.write(self.talk.text(text, work_order_id))


class Jt808Server:
    def __init__(self, terminals: Terminals, *, host: str, port: int, limits: Limits) -> None:
        self.terminals = terminals
        self.host = host
        self.port = port
        self.limits = limits
        self.connections: set[Connection] = set()
        self.listening = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acks: set[asyncio.Task[None]] = set()
        self._held: set[Connection] = set()
        self.clock = 0.0  # the loop's time at the last sweep: a connection's last word, to 1 s
        # reads not yet taken, in arrival order (one connection's stay in its order)
        self.inbox: list[tuple[Connection, bytes]] = []
        self._scheduled = False

    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    # ---- reads, taken in chunks -----------------------------------------------------------

    def received(self, connection: Connection, data: bytes) -> None:
        inbox = self.inbox
        inbox.append((connection, data))
        if not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self.work)
        if len(inbox) > self.limits.inbox_reads or self.terminals.backlogged(
            self.limits.backlog_fixes
        ):
            self.hold(connection)

    def work(self) -> None:
        """Takes up to `chunk_reads` reads, then lets the loop turn (HTTP, the broker, the
        registry) before the next chunk: a fleet reporting at once never starves the rest."""
        self._scheduled = False
        inbox = self.inbox
        chunk_size = self.limits.chunk_reads
        if len(inbox) <= chunk_size:
            chunk, self.inbox = inbox, []
        else:
            chunk = inbox[:chunk_size]
            del inbox[:chunk_size]
        fixes: list[Fix] = []
        frames = 0
        for connection, data in chunk:
            if not connection.closing:
                frames += connection.take(data, fixes)
        FRAMES_OK.inc(frames)
        if fixes:
            FIXES_ACCEPTED.inc(len(fixes))
            self.terminals.take_fixes(fixes)
        if self.inbox:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self.work)
        elif self._held:
            self.release()

    # ---- connection events --------------------------------------------------------------

    def opened(self, connection: Connection) -> None:
        self.connections.add(connection)
        CONNECTIONS.set(len(self.connections))

    def closed(self, connection: Connection) -> None:
        self.connections.discard(connection)
        CONNECTIONS.set(len(self.connections))
        if connection.binding is not None:
            SIGNED_IN.dec()
            self.terminals.signed_out(connection.binding.unit_id, connection)

    def authenticated(self, connection: Connection) -> None:
        assert connection.binding is not None
        SIGNED_IN.inc()
        self.terminals.signed_in(connection.binding, connection)

    def hold(self, connection: Connection) -> None:
        """Stop reading this connection until the reads waiting here are taken and the ping
        queue drains (`release`): TCP pushes back on the terminal meanwhile."""
        if connection.transport is not None and connection not in self._held:
            connection.transport.pause_reading()
            self._held.add(connection)
            HELD.inc()

    def release(self) -> None:
        """Called when the ping queue is short again, and when the inbox is empty."""
        if self.inbox or self.terminals.backlogged(self.limits.backlog_fixes):
            return
        held, self._held = self._held, set()
        for connection in held:
            if connection.transport is not None and not connection.closing:
                connection.transport.resume_reading()

    def acknowledged(self, binding: Binding, work_order_id: UUID) -> None:
        task = asyncio.ensure_future(self.terminals.acknowledged(binding, work_order_id))
        self._acks.add(task)
        task.add_done_callback(self._acked)

    def _acked(self, task: "asyncio.Future[None]") -> None:
        self._acks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("acknowledgement_not_published", error=repr(task.exception()))

    # ---- the loop the host runs ---------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self.clock = self.now()
        server = await self._loop.create_server(
            lambda: Connection(self), self.host, self.port, backlog=4096, reuse_address=True
        )
        self.port = server.sockets[0].getsockname()[1]
        self.listening.set()
        log.info("jt808_listening", host=self.host, port=self.port)
        try:
            while not stop.is_set():
                self.sweep()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
        finally:
            server.close()
            for connection in list(self.connections):
                connection.drop("shutdown")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=5)
            if self._acks:
                await asyncio.wait(self._acks, timeout=5)

    def sweep(self) -> None:
        """Drops connections that did not authenticate in time, fell silent, or whose device
        was revoked since they signed in."""
        now = self.clock = self.now()
        limits = self.limits
        lookup = self.terminals.lookup
        for connection in list(self.connections):
            binding = connection.binding
            if binding is None:
                if now - connection.opened_at > limits.auth_timeout_s:
                    connection.drop("auth_timeout")
            elif now - connection.seen_at > limits.idle_timeout_s:
                connection.drop("idle")
            elif lookup(binding.device_id) is not binding:  # the registry keeps unchanged ones
                connection.drop("revoked")
