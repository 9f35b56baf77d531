"""The browsers connected to this console: each has a bounded queue of encoded messages that its
socket sends in order. A patch (an incident, an order, an answer) is encoded once and queued
for every browser at once; positions are queued once per tick as one diff (decision 0081). A
browser too slow to keep up loses its queue and gets a fresh snapshot instead, so one stalled
screen never holds memory or the others back."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from kj_console.domain.live import LiveView, Patch, ms
from kj_console.service_layer.metrics import BROWSERS, RESYNCS
from kj_schemas.base import utcnow


class Browser:
    def __init__(self, user: str, queue_size: int) -> None:
        self.user = user
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self.resync = True  # the first thing it gets is a snapshot

    def offer(self, data: bytes) -> None:
        if self.resync:
            return  # a snapshot is coming: it will hold this too
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.resync = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(b"")  # wake the sender: it sends a snapshot
            RESYNCS.inc()


class Hub:
    def __init__(
        self, view: LiveView, *, queue_size: int, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.view = view
        self.queue_size = queue_size
        self.clock = clock
        self.browsers: set[Browser] = set()

    def join(self, user: str) -> Browser:
        browser = Browser(user, self.queue_size)
        self.browsers.add(browser)
        BROWSERS.set(len(self.browsers))
        return browser

    def leave(self, browser: Browser) -> None:
        self.browsers.discard(browser)
        BROWSERS.set(len(self.browsers))

    def publish(self, patches: Patch | list[Patch] | None) -> None:
        if not patches or not self.browsers:
            return
        for patch in patches if isinstance(patches, list) else [patches]:
            data = orjson.dumps(patch)
            for browser in self.browsers:
                browser.offer(data)

    def tick(self) -> int:
        """Positions changed since the last tick, as one diff to every browser; the count."""
        rows = self.view.take_positions()
        if rows and self.browsers:
            self.publish({"t": "pos", "now": ms(self.clock()), "u": rows})
        return len(rows)

    def snapshot(self, browser: Browser) -> bytes:
        """What a browser that (re)joins gets first: everything as it is now."""
        browser.resync = False
        while not browser.queue.empty():
            browser.queue.get_nowait()
        return orjson.dumps(self.view.snapshot(self.clock()))

    async def next_message(self, browser: Browser) -> bytes:
        """The next message for this browser's socket (a snapshot when it must resync)."""
        if browser.resync:
            return self.snapshot(browser)
        data = await browser.queue.get()
        if browser.resync or not data:
            return self.snapshot(browser)
        return data


def encode(value: Any) -> bytes:
    return orjson.dumps(value)
