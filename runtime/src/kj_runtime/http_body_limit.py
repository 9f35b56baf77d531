"""ASGI middleware: a request body over the limit is answered 413 in a way every client
receives (issue 19, decision 0125).

Answering before the body is read and closing made the kernel reset the connection under a
client still sending (RFC 9112 §9.6): an asynchronous client (httpx) saw "connection reset",
not the 413, and retried forever. So the rest of the body is read and thrown away, up to
`drain_bytes` (and within the server's read deadline, decision 0074), before the 413 goes out
and the connection closes; only a body declared larger than that is answered at once. Nothing
is buffered on the way: a body of a declared length within the limit goes to the app as it is
(the parser frames it by that length); for one sent without a length (chunked) the count runs
beside the app's reading, and a body that grows over the limit is drained where it is read, and
the reader gets `BodyTooLarge`, an HTTP 413 that the app's problem handler answers (FastAPI
turns any other error met while reading a body into a 400)."""

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException

from kj_runtime.problems import raw_problem_messages

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
DRAIN_BYTES = 8 * 1024 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over {max_bytes} bytes")


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        drain_bytes: int = DRAIN_BYTES,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(drain_bytes, max_bytes)
        self.on_refused = on_refused

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, close=True)
                return
            if int(declared) > self.max_bytes:
                if int(declared) <= self.drain_bytes:
                    await self._drain(receive, 0)
                await self._refuse(send, close=True)
                return
            # the server's parser frames the body by its declared length: no more can come,
            # and the app reads it unwatched
            await self.app(scope, receive, send)
            return
        size = 0
        over = started = False

        async def counted() -> dict[str, Any]:
            nonlocal size, over
            if over:
                raise BodyTooLarge(self.max_bytes)
            message = dict(await receive())
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_bytes:
                    over = True
                    if self.on_refused is not None:
                        self.on_refused()
                    if message.get("more_body", False):
                        await self._drain(receive, size)
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if over:  # whatever of the body was not drained must not be read as a request
                    message = {
                        **message,
                        "headers": [*message["headers"], (b"connection", b"close")],
                    }
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:  # read by a raw ASGI middleware, not by FastAPI
            if started:
                raise
            await self._send_413(send)

    async def _drain(self, receive: Any, already: int) -> None:
        """Read and drop the rest of the body, up to `drain_bytes` in all."""
        size = already
        while size <= self.drain_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _refuse(self, send: Any, *, close: bool) -> None:
        if self.on_refused is not None:
            self.on_refused()
        await self._send_413(send, close=close)

    async def _send_413(self, send: Any, *, close: bool = True) -> None:
        for message in raw_problem_messages(
            413, f"the request body is over {self.max_bytes} bytes", close=close
        ):
            await send(message)
