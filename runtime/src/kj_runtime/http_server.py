"""The limits uvicorn does not set by itself, for every service's HTTP server (decision 0074).

uvicorn closes a kept-alive connection that sends nothing for `timeout_keep_alive`, but a
connection that has begun a request is never timed: 400 half-sent requests were held for
60 s and more (issue 14, slowloris), and its HTTP parser (httptools) takes headers of any
size. `guarded_http_protocol` gives uvicorn's own protocol two limits:
- a request must arrive whole (head and body) within `read_timeout_s` of its first byte, or of
  the connection when it sends nothing; otherwise 408 (or nothing, for a silent connection)
  and the connection is closed;
- its request line and headers together hold at most `max_head_bytes`; otherwise 400 and close.
A WebSocket upgrade is timed until its head is read; the socket then has its own limits
(`ws_max_size`, pings) and notify's per-terminal rate limit.

`SpreadKeepaliveProtocol` is uvicorn's WebSocket protocol with its keepalive pings spread out
(decision 0182).
"""

import asyncio
import random
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from kj_runtime.problems import PROBLEM_JSON, problem_bytes


def _raw_problem(status_line: bytes, status: int, detail: str) -> bytes:
    """A whole HTTP/1.1 problem answer that closes the connection (decision 0125)."""
    body = problem_bytes(status, detail)
    return (
        b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
        % (status_line, PROBLEM_JSON.encode(), len(body), body)
    )


_TIMED_OUT = _raw_problem(b"408 Request Timeout", 408, "the request came too slowly")


class _HeadTooLarge(Exception):
    """Raised inside the parser's callback: httptools turns it into a parser error, which
    uvicorn answers with 400 and a closed connection."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    read_timeout_s: float = 10.0
    max_head_bytes: int = 65_536

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # one timer at a time, left to run out rather than cancelled at each request (a timer
        # made and cancelled per request cost 3 us of each): when it fires it closes the
        # connection if the request it waits for began `read_timeout_s` ago, and otherwise
        # waits again for the one under way, if any
        self._read_deadline: asyncio.TimerHandle | None = None
        self._began: float | None = None  # when the request under way began (loop time)
        self._awaiting_request = True
        self._received_bytes = 0
        self._head_bytes = 0

    # the connection and its bytes
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._begin()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_request:
            self._received_bytes += len(data)
            if self._began is None:  # the first byte after a kept-alive wait
                self._begin()
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse (or a head over the limit), as a
        problem instead of plain text."""
        self.transport.write(_raw_problem(b"400 Bad Request", 400, msg))
        self.transport.close()

    # the parser's callbacks: one request's head, then its body
    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.parser.should_upgrade():  # a WebSocket: its head is all there is to read
            self._request_read()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._request_read()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            # waiting for the next request: uvicorn's keep-alive timer runs until its first byte
            self._awaiting_request = True
            self._received_bytes = 0

    # the deadline
    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            raise _HeadTooLarge()

    def _request_read(self) -> None:
        self._awaiting_request = False
        self._began = None

    def _begin(self) -> None:
        self._began = self.loop.time()
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _timed_out(self) -> None:
        self._read_deadline = None
        if self._began is None or not self._awaiting_request or self.transport.is_closing():
            return  # nothing under way: the next request's first byte sets a timer again
        left = self._began + self.read_timeout_s - self.loop.time()
        if left > 0:  # a later request than the one this timer was set for
            self._read_deadline = self.loop.call_later(left, self._timed_out)
            return
        if self._received_bytes and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_TIMED_OUT)  # nothing answered yet on this request
        self.transport.close()


def guarded_http_protocol(
    *, read_timeout_s: float, max_head_bytes: int
) -> type[GuardedHttpToolsProtocol]:
    """uvicorn's `http` protocol class with these limits."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"read_timeout_s": read_timeout_s, "max_head_bytes": max_head_bytes},
    )


class SpreadKeepaliveProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (websockets' sans-I/O one, what `ws="auto"` picks) with the
    first keepalive ping at a random moment of the first interval, not a whole interval after
    the handshake. Each later ping follows its pong by an interval, as uvicorn's do, so
    sockets opened together (a gateway's restart and its terminals' reconnecting, a bench's
    1,000 terminals) no longer ping together every interval for as long as they live: at
    1,000 terminals that was 1,000 pings and pongs through the gateway's event loop in one
    burst every 20 s, and the work order on its way to a screen waited behind them (decision
    0182). The first ping comes sooner, never later, so a dead peer is found no later."""

    def start_keepalive(self) -> None:
        interval = self.ping_interval
        if interval is not None and interval > 0:
            self.ping_timer = self.loop.call_later(
                random.uniform(0.0, interval),  # noqa: S311 - a timer's jitter, no secret
                self.send_keepalive_ping,
            )
