"""Every service's HTTP server, as the host runs it, drops what a slow or greedy client holds
(issue 14: 400 half-sent requests were held for 60 s; uvicorn times only an idle kept-alive
connection). A real server on loopback, a few hundred raw sockets."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from kj_runtime.settings import ServiceSettings
from kj_sim.services import free_port
from tests.integration.runtime.serving import served

# each half-sent connection's deadline runs from its connect; the test opens 300 one after
# another on a loop it shares with the server, which took over half a second on a loaded CI
# machine: the drip then met sockets already answered and closed (a reset, the 408 unread)
READ_TIMEOUT_S = 2.0
IDLE_TIMEOUT_S = 1
HALF_SENT = 300  # requests that never finish their head


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[int]:
    settings = ServiceSettings(
        http_port=free_port(),
        http_read_timeout_s=READ_TIMEOUT_S,
        http_idle_timeout_s=IDLE_TIMEOUT_S,
        http_max_head_bytes=4096,
    )
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    async with served("limits", settings, app) as port:
        yield port


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before it closed the connection."""
    data = b""
    while chunk := await reader.read(4096):
        data += chunk
    return data


async def test_a_few_hundred_half_sent_requests_are_dropped_and_others_are_served(
    server: int,
) -> None:
    started = time.monotonic()  # the first connection's deadline runs from here
    connections = [await asyncio.open_connection("127.0.0.1", server) for _ in range(HALF_SENT)]
    try:
        for _, writer in connections:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: limits\r\nX-Slow: ")
        await asyncio.gather(*(writer.drain() for _, writer in connections))
        # the drip comes a quarter of the way to the first deadline (at once if opening took
        # longer: the server still must not take it as a reason to wait)
        await asyncio.sleep(max(0.0, started + READ_TIMEOUT_S / 4 - time.monotonic()))
        for _, writer in connections:  # drip one more byte: a keep-alive timer would be reset
            writer.write(b"a")
        async with httpx.AsyncClient() as client:  # meanwhile the service still answers
            answer = await client.get(f"http://127.0.0.1:{server}/healthz", timeout=5)
            assert answer.status_code == 200
        async with asyncio.timeout(READ_TIMEOUT_S + 10):
            answers = await asyncio.gather(*(closed_by_server(r) for r, _ in connections))
        dropped_after = time.monotonic() - started
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers)
        assert all(b"application/problem+json" in a for a in answers)
        assert dropped_after < READ_TIMEOUT_S + 5, dropped_after
    finally:
        for _, writer in connections:
            writer.transport.abort()


async def test_a_connection_that_says_nothing_is_closed(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    try:
        async with asyncio.timeout(READ_TIMEOUT_S + 5):
            assert await closed_by_server(reader) == b""
    finally:
        writer.transport.abort()


async def test_a_body_that_trickles_is_cut_off(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(
        b"POST /echo HTTP/1.1\r\nHost: limits\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"a": '
    )
    await writer.drain()
    try:
        async with asyncio.timeout(READ_TIMEOUT_S + 5):
            await closed_by_server(reader)
    finally:
        writer.transport.abort()


async def test_a_request_on_a_kept_alive_connection_has_its_own_whole_deadline(
    server: int,
) -> None:
    """The deadline runs from the request's own first byte, not from the connection's or an
    earlier request's: a second request that begins late on the same connection is neither cut
    short when the first one's deadline passes nor left to trickle forever."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: limits\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = next(
            line.split(b":", 1)[1]
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await reader.readexactly(int(length))  # the first request is answered whole
        await asyncio.sleep(IDLE_TIMEOUT_S * 0.6)  # within the idle timeout
        began = time.monotonic()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: limits\r\nX-Slow: ")
        await writer.drain()
        async with asyncio.timeout(READ_TIMEOUT_S + 5):
            answer = await closed_by_server(reader)
        cut_after = time.monotonic() - began
    finally:
        writer.transport.abort()
    assert answer.startswith(b"HTTP/1.1 408")
    assert cut_after >= READ_TIMEOUT_S * 0.9, cut_after


async def test_a_head_larger_than_the_limit_is_refused(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: limits\r\n")
    writer.write(b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 100) for i in range(60)))
    writer.write(b"\r\n")
    await writer.drain()
    try:
        async with asyncio.timeout(5):
            answer = await closed_by_server(reader)
    finally:
        writer.transport.abort()
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/problem+json" in answer.lower()


async def test_an_idle_kept_alive_connection_is_closed(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: limits\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    try:
        async with asyncio.timeout(IDLE_TIMEOUT_S + 5):
            await closed_by_server(reader)
    finally:
        writer.transport.abort()
    assert time.monotonic() - started >= IDLE_TIMEOUT_S * 0.9


async def test_requests_that_arrive_whole_on_one_connection_are_all_served(server: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server}") as client:
        for n in range(5):
            answer = await client.post("/echo", content=b"x" * (1000 * n))
            assert answer.json() == {"bytes": 1000 * n}


TWO_MB = 2 * 1024 * 1024


async def test_an_async_client_sending_2_mb_receives_the_413_not_a_reset(server: int) -> None:
    """Issue 19: answered before the body was read, the 413 was lost in a reset (RFC 9112
    §9.6) and an async client could not tell "too large" from a network fault. Every service's
    server (the host's limit, 1 MiB by default) reads and drops the body, then answers."""

    async def streamed() -> Any:
        for _ in range(32):
            yield b"x" * (TWO_MB // 32)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server}", timeout=10) as client:
        for _ in range(5):  # a reset is a race: try it a few times
            declared = await client.post("/echo", content=b"x" * TWO_MB)
            assert declared.status_code == 413
            assert declared.headers["content-type"] == "application/problem+json"
            assert declared.json()["type"] == "tag:kuaijing,2026:payload-too-large"
            chunked = await client.post("/echo", content=streamed())
            assert chunked.status_code == 413
            assert chunked.json()["status"] == 413
        # and the server still serves whole requests under the limit
        assert (await client.post("/echo", content=b"x" * 1000)).json() == {"bytes": 1000}
