"""A runaway 110 integration in a process of its own (so the test's own event loop, where the
calm integration is timed, is not queued behind it): `python -m tests.integration.alarm.flood
URL TOKEN SOURCE SECONDS CONNECTIONS` reports as fast as it is answered for SECONDS, then prints
one JSON line: the count of each status, and the first 429's headers and body."""

import asyncio
import json
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx


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


async def flood(url: str, token: str, source: str, seconds: float, connections: int) -> None:
    statuses: dict[int, int] = {}
    first_429: dict[str, Any] = {}
    until = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    counter = iter(range(10**9))

    async def one(client: httpx.AsyncClient) -> None:
        while time.monotonic() < until:
            answer = await client.post(
                "/v1/alarms", json=body(source, next(counter)), headers=headers
            )
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 429 and not first_429:
                first_429.update(headers=dict(answer.headers), body=answer.json())

    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        await asyncio.gather(*(one(client) for _ in range(connections)))
    print(json.dumps({"statuses": statuses, "first_429": first_429}))


if __name__ == "__main__":
    url, token, source, seconds, connections = sys.argv[1:6]
    asyncio.run(flood(url, token, source, float(seconds), int(connections)))
