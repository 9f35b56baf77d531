"""The simulated fleet's positions through the real device paths (issue 18): cars and command
vehicles carry JT/T 808 terminals (TCP to the device gateway), motorcycles' officers carry
phones that post their fixes over HTTP (the JSON batch endpoint). Each simulated device is
bound in the registry first, as a bureau would with `kj-devices devices add`."""

import asyncio
import hashlib
import hmac
import time
from datetime import datetime

import asyncpg
import httpx
import orjson
import structlog

from kj_devices.adapters import registry_store
from kj_devices.domain.binding import Protocol
from kj_schemas.city import City
from kj_schemas.enums import UnitKind
from kj_sim.jt808_terminal import Jt808Terminal

log = structlog.get_logger(__name__)


def secret_for(dev_secret: str, device_id: str) -> str:
    return hmac.new(dev_secret.encode(), f"device:{device_id}".encode(), hashlib.sha256).hexdigest()


def terminal_number(index: int) -> str:
    return f"1390000{index:04d}"


class DevicePings:
    """Same surface as kj_sim.pings.PingPublisher: one second's pings at a time."""

    def __init__(
        self, city: City, *, jt808: tuple[str, int], http_url: str, dev_secret: str
    ) -> None:
        self.city = city
        self.jt808 = jt808
        self.http = httpx.AsyncClient(base_url=http_url, timeout=5)
        self.dev_secret = dev_secret
        self.vehicles: dict[str, Jt808Terminal] = {}
        self.phones: dict[str, str] = {}  # unit id → device id
        self.numbers: dict[str, str] = {}
        self.sent = 0
        self.failed = 0
        # a phone queues its fixes while its last request is on the way and sends them all in
        # the next one, as the officer app does: a slow gateway never holds the simulated clock
        self._queued: dict[str, list[dict[str, object]]] = {}
        self._sending: dict[str, asyncio.Task[None]] = {}

    async def bind(self, connection: asyncpg.Connection) -> None:
        for index, unit in enumerate(self.city.units):
            if unit.kind is UnitKind.motorcycle:
                device_id, protocol = f"phone-{unit.id}", Protocol.http
                self.phones[unit.id] = device_id
            else:
                device_id, protocol = terminal_number(index), Protocol.jt808
                self.numbers[unit.id] = device_id
            await registry_store.add(
                connection,
                protocol=protocol,
                device_id=device_id,
                unit_id=unit.id,
                secret=secret_for(self.dev_secret, device_id)[:16],
                note="kj-sim",
                replace=True,
            )

    async def connect(self) -> None:
        for unit_id, number in self.numbers.items():
            terminal = Jt808Terminal(number)
            terminal.keep_answers = False
            await terminal.sign_in(*self.jt808)
            self.vehicles[unit_id] = terminal

    async def publish(self, records: list[tuple[bytes, bytes]]) -> float:
        started = time.perf_counter()
        for key, value in records:
            unit_id = key.decode()
            ping = orjson.loads(value)
            terminal = self.vehicles.get(unit_id)
            if terminal is not None and not terminal.closed.is_set():
                await terminal.report(
                    ping["lat"],
                    ping["lon"],
                    at=datetime.fromisoformat(ping["ts"]),
                    speed_kmh=ping["speed_kmh"],
                    heading=int(ping["heading_deg"]),
                )
            elif unit_id in self.phones:
                self._queue(self.phones[unit_id], ping)
            else:
                self.failed += 1
                continue
            self.sent += 1
        return time.perf_counter() - started

    def _queue(self, device_id: str, ping: dict[str, object]) -> None:
        fix = {k: ping[k] for k in ("ts", "lat", "lon", "speed_kmh", "heading_deg", "accuracy_m")}
        self._queued.setdefault(device_id, []).append(fix)
        if device_id not in self._sending:
            self._sending[device_id] = asyncio.create_task(self._send(device_id))

    async def _send(self, device_id: str) -> None:
        """Sends what the phone queued, again while more came meanwhile."""
        token = secret_for(self.dev_secret, device_id)[:16]
        try:
            while fixes := self._queued.pop(device_id, None):
                try:
                    answer = await self.http.post(
                        "/v1/locations",
                        json={"device_id": device_id, "fixes": fixes},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    if answer.status_code != 200:
                        self.failed += len(fixes)
                except httpx.HTTPError:
                    self.failed += len(fixes)
        finally:
            del self._sending[device_id]

    async def drain(self) -> None:
        """Until every queued fix was sent (or failed)."""
        while self._sending:
            await asyncio.gather(*list(self._sending.values()), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        for terminal in self.vehicles.values():
            await terminal.close()
        await self.http.aclose()
