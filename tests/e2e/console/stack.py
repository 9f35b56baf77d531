"""The whole platform as processes for the console's browser tests: alarm intake, patrol
tracking, dispatch, notify and the console, each started with its own console script's module
on a free port against this package's database and topics; a fleet driver that sends GPS pings
as terminals do; terminals connected to notify's gateway."""

import asyncio
import math
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_sim.services import free_port

MODULES = {
    "alarm": "kj_alarm.main",
    "tracking": "kj_tracking.main",
    "dispatch": "kj_dispatch.main",
    "notify": "kj_notify.main",
    "console": "kj_console.main",
}
PREFIXES = {
    "alarm": "KJ_ALARM_",
    "tracking": "KJ_TRACKING_",
    "dispatch": "KJ_DISPATCH_",
    "notify": "KJ_NOTIFY_",
    "console": "KJ_CONSOLE_",
}
DEV_SECRET = "console-e2e-dev-secret"
SESSION_SECRET = "console-e2e-session-key"


def offset(lat: float, lon: float, east_m: float, north_m: float = 0.0) -> tuple[float, float]:
    return (
        lat + north_m / 110_574,
        lon + east_m / (111_320 * math.cos(math.radians(lat))),
    )


@dataclass
class Platform:
    """The five services as processes."""

    topics: KafkaSettings
    database: PostgresSettings
    logs: Path
    push_url: str
    ports: dict[str, int] = field(default_factory=lambda: {n: free_port() for n in MODULES})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def environment(self) -> dict[str, str]:
        run = uuid.uuid4().hex[:6]
        env = {
            **os.environ,
            "KJ_KAFKA_TOPIC_PREFIX": self.topics.topic_prefix,
            "KJ_PG_DATABASE": self.database.database,
            "KJ_DISPATCH_GROUP_ID": f"dispatch-e2e-{run}",
            "KJ_DISPATCH_INSTANCE": f"dispatch-e2e-{run}",
            "KJ_DISPATCH_ACCEPT_TIMEOUT_S": "600",  # the test terminals never answer
            "KJ_TRACKING_GROUP_ID": f"tracking-e2e-{run}",
            "KJ_NOTIFY_CONSUMER_GROUP": f"notify-e2e-{run}",
            "KJ_NOTIFY_DEV_TOKEN_SECRET": DEV_SECRET,
            "KJ_NOTIFY_PUSH_URL": self.push_url,
            "KJ_CONSOLE_SESSION_SECRET": SESSION_SECRET,
            "KJ_CONSOLE_ALARM_URL": self.url("alarm"),
            "KJ_CONSOLE_ALARM_TOKEN": "dev-sy110-token",
        }
        for name, prefix in PREFIXES.items():
            env[f"{prefix}HTTP_PORT"] = str(self.ports[name])
            env[f"{prefix}LOG_LEVEL"] = "warning"
            env[f"{prefix}LOG_JSON"] = "true"
        return env

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        for name, module in MODULES.items():
            log = (self.logs / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, deadline_s: float = 120) -> None:
        pending = set(MODULES)
        give_up = time.monotonic() + deadline_s
        async with httpx.AsyncClient(timeout=2) as client:
            while pending:
                for name in list(pending):
                    if self.processes[name].poll() is not None:
                        raise RuntimeError(f"{name} exited; see {self.logs / (name + '.log')}")
                    try:
                        if (await client.get(f"{self.url(name)}/readyz")).status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > give_up:
                    raise TimeoutError(f"not ready: {sorted(pending)}; logs in {self.logs}")
                await asyncio.sleep(0.3)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Unit:
    unit_id: str
    lat: float
    lon: float
    speed_m_s: float = 0.0
    circle_m: float = 0.0  # drives round a circle of this radius about (lat, lon)


class FleetDriver:
    """Each unit's terminal sends a GPS fix every second: parked ones where they stand, moving
    ones round their circle."""

    def __init__(self, topics: KafkaSettings, units: list[Unit]) -> None:
        self.topic = topics.topic("patrol.pings")
        self.units = units
        self.producer = AIOKafkaProducer(bootstrap_servers=topics.bootstrap, linger_ms=5)
        self.started = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def where(self, unit: Unit, at: float) -> tuple[float, float, float]:
        if not unit.circle_m:
            return unit.lat, unit.lon, 0.0
        angle = (at - self.started) * unit.speed_m_s / unit.circle_m
        lat, lon = offset(
            unit.lat, unit.lon, unit.circle_m * math.cos(angle), unit.circle_m * math.sin(angle)
        )
        heading = (math.degrees(-angle) + 360) % 360  # counter-clockwise, tangent
        return lat, lon, heading

    async def start(self) -> None:
        await self.producer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            at = time.monotonic()
            stamp = datetime.now(UTC).isoformat()
            for unit in self.units:
                lat, lon, heading = self.where(unit, at)
                value = {
                    "unit_id": unit.unit_id,
                    "ts": stamp,
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "speed_kmh": round(unit.speed_m_s * 3.6, 1),
                    "heading_deg": round(heading, 1),
                    "accuracy_m": 5.0,
                }
                await self.producer.send(self.topic, orjson.dumps(value), key=unit.unit_id.encode())
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - at)))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.producer.stop()
