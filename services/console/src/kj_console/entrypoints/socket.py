"""The browsers' WebSocket: a snapshot on connect, then patches as they happen and positions as
one diff a tick (service_layer/hub.py). The session is checked at the handshake (cookie and
same origin) and again every `RECHECK_S`: a signed-out or disabled user's screen goes dark."""

import asyncio
import contextlib

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from kj_console.domain.sessions import COOKIE
from kj_console.entrypoints.guards import same_origin
from kj_console.service_layer.console import Console
from kj_console.service_layer.hub import Browser
from kj_console.service_layer.metrics import SENT_BYTES

RECHECK_S = 30.0
SIGNED_OUT = 4401
CROSS_ORIGIN = 4403


async def serve_browser(console: Console, socket: WebSocket) -> None:
    if not same_origin(socket.headers):
        await socket.close(code=CROSS_ORIGIN)
        return
    who = await console.accounts.session(socket.cookies.get(COOKIE))
    if who is None:
        await socket.close(code=SIGNED_OUT)
        return
    await socket.accept()
    browser = console.hub.join(who.username)
    cookie = socket.cookies.get(COOKIE)
    tasks = [
        asyncio.create_task(_send(console, socket, browser)),
        asyncio.create_task(_drain(socket)),
        asyncio.create_task(_recheck(console, cookie)),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if any(t.done() and not t.cancelled() and t.result() == SIGNED_OUT for t in done):
            with contextlib.suppress(Exception):
                await socket.close(code=SIGNED_OUT)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        console.hub.leave(browser)


async def _send(console: Console, socket: WebSocket, browser: Browser) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            data = await console.hub.next_message(browser)
            await socket.send_text(data.decode())
            SENT_BYTES.inc(len(data))


async def _drain(socket: WebSocket) -> None:
    """The browser sends nothing but pings; this notices when it goes."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _recheck(console: Console, cookie: str | None) -> int:
    while True:
        await asyncio.sleep(RECHECK_S)
        if await console.accounts.session(cookie) is None:
            return SIGNED_OUT
