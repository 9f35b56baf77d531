"""The 808 terminals of `bench.bench_devices`, in a process of their own so their CPU is not
counted as the gateway's: N connections, each signing in (register, authenticate) and then
sending one location report a second (`--rate`), phases spread evenly over the second.
Responses are read and counted, not decoded. Prints a JSON line once signed in, one with the
reports sent so far on each SIGUSR1, and one of counts when told to stop (SIGTERM) or at its
deadline.

    python -m bench.devices_load --port P --first 13000000000 --count 10000 --deadline 300
"""

import argparse
import asyncio
import json
import resource
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import cast

from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808.framing import FrameSplitter
from kj_devices.domain.jt808.header import Message, decode, encode

ZONE = timedelta(hours=8)
REG = b.encode_registration(b.Registration(43, 500, "BENCH", "B808", "0000001", 2, "BENCH"), None)


class Terminal(asyncio.Protocol):
    __slots__ = ("number", "ready", "report", "splitter", "stats", "transport")

    def __init__(self, number: str, stats: dict[str, int], ready: asyncio.Future[None]) -> None:
        self.number = number
        self.stats = stats
        self.ready = ready
        self.splitter: FrameSplitter | None = FrameSplitter()
        self.transport: asyncio.Transport | None = None
        self.report = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are no asyncio.Transport subclass, but have its methods
        self.transport = transport = cast(asyncio.Transport, transport)
        transport.write(encode(Message(b.REGISTER, self.number, 1, REG)))

    def data_received(self, data: bytes) -> None:
        if self.splitter is None:  # signed in: the answers are counted, not read
            self.stats["answer_bytes"] += len(data)
            return
        for frame in self.splitter.feed(data):
            message = decode(frame)
            assert self.transport is not None
            if message.msg_id == b.REGISTER_RESPONSE:
                _, result, code = b.decode_registration_response(message.body)
                if result != b.REGISTERED or code is None:
                    self.ready.set_exception(RuntimeError(f"{self.number}: refused {result}"))
                    return
                auth = b.encode_auth(code, None)
                self.transport.write(encode(Message(b.AUTHENTICATE, self.number, 2, auth)))
            elif message.msg_id == b.PLATFORM_RESPONSE:
                self.splitter = None
                at = datetime.now(UTC).replace(microsecond=0)
                lat = 27.2 + (int(self.number) % 1000) / 10_000
                body = b.encode_location(b.Location(0, 3, lat, 111.45, 0, 300, 90, at), ZONE)
                self.report = encode(Message(b.LOCATION, self.number, 3, body))
                if not self.ready.done():
                    self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats["lost"] += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"{self.number} lost before signing in"))


def tell(stats: dict[str, int]) -> None:
    """One JSON line: the reports sent so far and when (the monotonic clock is the machine's,
    the bench reads it at the window's edges)."""
    print(json.dumps({"t": time.monotonic(), "sent": stats["sent"]}), flush=True)


async def run(args: argparse.Namespace) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    stats = {"answer_bytes": 0, "behind": 0, "lost": 0, "sent": 0, "signed_in": 0}
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    deadline = time.monotonic() + args.deadline
    terminals: list[Terminal] = []
    started = time.monotonic()
    for wave in range(0, args.count, 250):  # sign in in waves: a city's fleet at 8 a.m.
        futures = []
        for i in range(wave, min(wave + 250, args.count)):
            ready: asyncio.Future[None] = loop.create_future()
            number = str(args.first + i)
            _, protocol = await loop.create_connection(
                partial(Terminal, number, stats, ready), "127.0.0.1", args.port
            )
            terminals.append(protocol)
            futures.append(ready)
        await asyncio.gather(*futures)
        stats["signed_in"] = len(terminals)
        if time.monotonic() > deadline:
            break
    print(json.dumps({"signed_in": len(terminals), "sign_in_s": time.monotonic() - started}))
    sys.stdout.flush()
    # `--rate` reports a second each, terminals in 20 slices taken in turn; every slice yields
    # to the loop (a generator that falls behind must still hear SIGTERM and read its answers),
    # and one more than a second behind does not burst to catch up: what it sent is what it
    # offered, and the bench counts that (SIGUSR1 prints the count so far)
    loop.add_signal_handler(signal.SIGUSR1, partial(tell, stats))
    slices = [terminals[i::20] for i in range(20)]
    period = 1 / (20 * args.rate)
    tick = time.monotonic()
    while not stop.is_set() and time.monotonic() < deadline:
        for part in slices:
            for terminal in part:
                if terminal.transport is not None and not terminal.transport.is_closing():
                    terminal.transport.write(terminal.report)
                    stats["sent"] += 1
            tick += period
            now = time.monotonic()
            if tick < now - 1.0:
                stats["behind"] += 1
                tick = now
            await asyncio.sleep(max(0.0, tick - now))
            if stop.is_set():
                break
    for terminal in terminals:
        if terminal.transport is not None:
            terminal.transport.close()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--deadline", type=float, default=300)
    parser.add_argument("--rate", type=float, default=1.0, help="reports a second each")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import uvloop

    stats = uvloop.run(run(args))
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
