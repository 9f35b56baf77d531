"""A real HTTP server standing in for 110 command-centre systems: `/good/...` answers 200,
`/flaky/...` answers 500 three times and then 200, `/dead/...` never answers."""

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from kj_sim.services import free_port


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    answered: int


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    flaky_failures: int = 3
    answer: bytes = b"{}"  # the body of every 2xx answer

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if path.startswith("/dead"):
            await self.release.wait()  # never answers while the test runs
            status = 503
        elif path.startswith("/flaky"):
            earlier = sum(1 for r in self.received if r.path == path)
            status = 500 if earlier < self.flaky_failures else 200
        else:
            status = 200
        async with self.changed:
            self.received.append(Received(path, body, headers, status))
            self.changed.notify_all()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": self.answer if status < 300 else b"{}"})

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, condition: Any, deadline_s: float = 30) -> None:
        async with asyncio.timeout(deadline_s), self.changed:
            await self.changed.wait_for(condition)


@contextlib.asynccontextmanager
async def running_receiver() -> Any:
    receiver = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(
            receiver,
            host="127.0.0.1",
            port=receiver.port,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.02)
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.should_exit = True
        await task
