"""A test terminal: a real WebSocket client that keeps what it receives, drops repeats by
work-order id (as a real terminal does) and acknowledges each delivery."""

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from kj_notify.domain.tokens import dev_token

DEV_SECRET = "test-dev-secret-not-for-production"


def token_for(unit_id: str) -> str:
    return dev_token(DEV_SECRET, unit_id)


class Terminal:
    def __init__(self, base_ws: str, unit_id: str, *, token: str | None = None, ack: bool = True):
        self.url = f"{base_ws}/v1/terminals/ws?unit_id={unit_id}"
        self.unit_id = unit_id
        self.token = token or token_for(unit_id)
        self.ack = ack
        self.frames: list[dict[str, Any]] = []
        self.orders: dict[tuple[str, str], dict[str, Any]] = {}  # (work_order_id, action) -> frame
        self.changed = asyncio.Condition()
        self.connection: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> "Terminal":
        self.connection = await websockets.connect(
            self.url, additional_headers={"Authorization": f"Bearer {self.token}"}, open_timeout=10
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.connection is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.connection:
                frame = json.loads(raw)
                if frame["type"] == "work_order":
                    self.orders.setdefault((frame["work_order_id"], frame["action"]), frame)
                    if self.ack:
                        await self.send({"type": "ack", "delivery_id": frame["delivery_id"]})
                async with self.changed:
                    self.frames.append(frame)
                    self.changed.notify_all()
        async with self.changed:
            self.changed.notify_all()

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.connection is not None
        await self.connection.send(json.dumps(frame))

    async def wait_for(self, condition: Callable[[], bool], deadline_s: float = 20) -> None:
        async with asyncio.timeout(deadline_s), self.changed:
            await self.changed.wait_for(condition)

    async def next_reply(self, ref: str, deadline_s: float = 20) -> dict[str, Any]:
        def found() -> bool:
            return any(f.get("ref") == ref for f in self.frames)

        await self.wait_for(found, deadline_s)
        return [f for f in self.frames if f.get("ref") == ref][-1]

    def assigned(self) -> set[str]:
        return {wo for (wo, action) in self.orders if action == "assign"}

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
