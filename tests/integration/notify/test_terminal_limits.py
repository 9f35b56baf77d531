"""A terminal cannot hold the gateway with huge frames or a flood of them (issue 14: frames up to
16 MiB and no rate limit). An officer's terminal sends a few small frames a minute."""

import asyncio
import json

import websockets

from .conftest import RunningNotify, unit
from .terminal_client import Terminal


async def test_a_frame_over_the_limit_closes_the_socket(notify: RunningNotify) -> None:
    terminal = await Terminal(notify.ws, unit()).connect()
    assert terminal.connection is not None
    limit = notify.settings.terminal_max_frame_bytes
    padding = "x" * (limit + 1)
    await terminal.connection.send(json.dumps({"type": "ack", "delivery_id": 1, "pad": padding}))
    async with asyncio.timeout(10):
        await terminal.connection.wait_closed()
    assert terminal.connection.close_code == 1009  # message too big
    await terminal.close()


async def test_a_frame_under_the_limit_gets_its_answer(notify: RunningNotify) -> None:
    terminal = await Terminal(notify.ws, unit()).connect()
    try:
        padding = "x" * (notify.settings.terminal_max_frame_bytes - 200)
        await terminal.send({"type": "ack", "delivery_id": 1, "pad": padding})
        await terminal.wait_for(lambda: any(f["type"] == "error" for f in terminal.frames))
        (error,) = [f for f in terminal.frames if f["type"] == "error"]
        assert error["reason"] == "bad_frame"  # an unknown field, said over a socket still up
    finally:
        await terminal.close()


async def test_a_flooding_terminal_is_refused_frame_by_frame_then_closed(
    notify: RunningNotify,
) -> None:
    terminal = await Terminal(notify.ws, unit()).connect()
    assert terminal.connection is not None
    burst = notify.settings.terminal_frame_burst
    try:
        for _ in range(burst * 4):
            await terminal.connection.send('{"type": "read", "delivery_id": 1}')
    except websockets.ConnectionClosed:
        pass
    async with asyncio.timeout(10):
        await terminal.connection.wait_closed()
    assert terminal.connection.close_code == 1008
    refused = [f for f in terminal.frames if f.get("reason") == "rate_limited"]
    assert refused and all(f["retry_after_s"] > 0 for f in refused)
    await terminal.close()
