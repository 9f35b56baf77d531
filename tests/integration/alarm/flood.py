"""A runaway 110 integration in a process of its own (so the test's own event loop, where the
calm integration is timed, is not queued behind it): `python -m tests.integration.alarm.flood
URL TOKEN SOURCE SECONDS CONNECTIONS PER_SECOND` sends PER_SECOND reports a second for SECONDS
(spread over CONNECTIONS, each sending as soon as it is answered when it falls behind), then
prints one JSON line: the count of each status, and the first 429's headers and body. A fixed
offered rate, not "as fast as answered": refused at once, a closed loop would send more the
better it is refused.

It speaks HTTP/1.1 over plain keep-alive sockets rather than through an HTTP client library: a
client library spends more CPU per request than the service's refusal does, so on a small
machine the runaway would be held back by its own client, not by its rate limit."""

import asyncio
import json
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit


def body(source: str, n: int) -> dict[str, Any]:
    at = datetime.now(timezone(timedelta(hours=8))) - timedelta(days=300, minutes=n % 1000)
    return {
        "source": source,
        "source_alarm_id": f"F-{uuid.uuid4().hex[:12]}",
        "reported_at": at.isoformat(),
        "caller_phone": "13807391234",
        "location": {"lat": 26.5 + (n % 97) * 0.003, "lon": 110.6 + (n % 89) * 0.003},
        "category": "theft",
        "priority": 3,
    }


def request(host: str, token: str, payload: bytes) -> bytes:
    return (
        f"POST /v1/alarms HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    content = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, content


async def flood(
    url: str, token: str, source: str, seconds: float, connections: int, per_second: float
) -> None:
    statuses: dict[int, int] = {}
    first_429: dict[str, Any] = {}
    started = time.monotonic()
    until = started + seconds
    interval = connections / per_second  # each connection's share of the rate
    place = urlsplit(url)
    counter = iter(range(10**9))

    async def one(offset: float) -> None:
        reader, writer = await asyncio.open_connection(place.hostname, place.port)
        next_at = started + offset
        try:
            while (now := time.monotonic()) < until:
                if next_at > now:
                    await asyncio.sleep(next_at - now)
                next_at += interval
                payload = json.dumps(body(source, next(counter))).encode()
                writer.write(request(place.netloc, token, payload))
                status, headers, content = await answer(reader)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 429 and not first_429:
                    first_429.update(headers=headers, body=json.loads(content))
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(place.hostname, place.port)
        finally:
            writer.close()

    await asyncio.gather(*(one(interval * i / connections) for i in range(connections)))
    print(json.dumps({"statuses": statuses, "first_429": first_429}))


if __name__ == "__main__":
    url, token, source, seconds, connections, per_second = sys.argv[1:7]
    asyncio.run(flood(url, token, source, float(seconds), int(connections), float(per_second)))
