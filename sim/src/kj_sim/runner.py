"""The simulated city, second by second: units move and ping, callers phone 110, terminals
answer work orders. Talks to the platform only through its external interfaces."""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import numpy as np
import structlog

from kj_schemas.city import City
from kj_sim.alarms import AlarmStream
from kj_sim.fleet import Fleet
from kj_sim.pings import PingPublisher, ScheduleLag, encode_pings

log = structlog.get_logger(__name__)


class Terminals(Protocol):
    """The officers' side of the notify gateway, for every unit of the fleet."""

    async def run(self, fleet: Fleet, stop: asyncio.Event) -> None: ...

    async def arrived(self, unit_id: str, work_order_id: str) -> None: ...

    async def cleared(self, unit_id: str, work_order_id: str) -> None: ...


@dataclass
class SimStats:
    alarms_posted: Counter[str] = field(default_factory=Counter)
    post_errors: int = 0
    lag: ScheduleLag = field(default_factory=ScheduleLag)
    pings_sent: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "alarms_posted": dict(self.alarms_posted),
            "post_errors": self.post_errors,
            "pings_sent": self.pings_sent,
            "ping_lag": self.lag.summary(),
        }


class AlarmPoster:
    """A 110 integration: POSTs each call, with its bearer token, retrying a timeout once."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(self, body: dict[str, Any], stats: SimStats) -> None:
        for attempt in range(2):
            try:
                response = await self.client.post("/v1/alarms", json=body, headers=self.headers)
            except httpx.HTTPError as error:
                if attempt == 1:
                    stats.post_errors += 1
                    log.warning("alarm_post_failed", error=repr(error))
                continue
            if response.status_code in (200, 201):
                stats.alarms_posted[response.json().get("status", "?")] += 1
            else:
                stats.post_errors += 1
                log.warning("alarm_refused", status=response.status_code, body=response.text[:300])
            return


class Simulation:
    def __init__(
        self,
        city: City,
        *,
        fleet: Fleet,
        alarms: AlarmStream | None,
        pings: PingPublisher,
        poster: AlarmPoster | None,
        terminals: Terminals | None,
        ping_slices: int = 1,
    ) -> None:
        """`ping_slices` > 1 spreads each second's pings over the second in that many equal
        slices, each stamped when it is sent: a province's devices each ping once a second at
        their own moment, so the platform receives them at a steady rate, not all at the top of
        the second (decision 0167). 1: the whole fleet at once, as the demo city sends it."""
        self.city = city
        self.ping_slices = max(ping_slices, 1)
        self.fleet = fleet
        self.alarms = alarms
        self.pings = pings
        self.poster = poster
        self.terminals = terminals
        self.stats = SimStats()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event, *, duration_s: float | None = None) -> SimStats:
        if self.terminals is not None:
            self._spawn(self.terminals.run(self.fleet, stop))
        started = time.monotonic()
        tick = 0
        while not stop.is_set():
            scheduled = started + tick
            now = time.monotonic()
            if now < scheduled:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=scheduled - now)
                    break
                except TimeoutError:
                    pass
            self.stats.lag.add(max(time.monotonic() - scheduled, 0.0))
            await self._tick(float(tick))
            tick += 1
            if duration_s is not None and tick >= duration_s:
                break
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.stats

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick(self, second: float) -> None:
        arrivals, cleared = self.fleet.step(second, 1.0)
        lat, lon = self.fleet.positions()
        units = self.fleet.unit_ids
        speed, heading = self.fleet.current_speed, self.fleet.heading
        started, n = time.monotonic(), len(units)
        for i in range(self.ping_slices):
            if i:  # the slice's moment in the second; the last one ends before the next tick
                await asyncio.sleep(max(started + i / self.ping_slices - time.monotonic(), 0.0))
            part = slice(i * n // self.ping_slices, (i + 1) * n // self.ping_slices)
            records = encode_pings(
                units[part],
                datetime.now(UTC),
                lat[part],
                lon[part],
                speed[part],
                heading[part],
            )
            await self.pings.publish(records)
            self.stats.pings_sent += len(records)
        if self.terminals is not None:
            for arrival in arrivals:
                unit_id = self.fleet.unit_ids[arrival.unit]
                self._spawn(self.terminals.arrived(unit_id, arrival.work_order_id))
            for done in cleared:
                unit_id = self.fleet.unit_ids[done.unit]
                self._spawn(self.terminals.cleared(unit_id, done.work_order_id))
        if self.alarms is not None and self.poster is not None:
            for body in self.alarms.due(second):
                self._spawn(self.poster.post(body, self.stats))


def seeded_fleet(city: City, seed: int) -> Fleet:
    return Fleet(city, np.random.default_rng(seed))
