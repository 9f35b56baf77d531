"""The whole platform as processes for the officer app's browser test: alarm intake, patrol
tracking, dispatch, notify and the device gateway, each started with its console script
(kj_sim.services, as `make run` starts them) on free ports against this package's database and
topics, sharing the officer app's ticket secret. What the test reads back it reads as a 110
centre or an ops tool would: the alarm from intake's API, the unit from patrol tracking's, the
answers from `workorders.events` on the broker."""

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from kj_runtime.credentials import token_hash
from kj_runtime.kafka import partitions_of
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.topics import WORKORDERS_EVENTS
from kj_sim.services import Service, ServiceProcesses, free_port

TICKET_SECRET = "officer-app-e2e-ticket-secret-0123456789"
OPERATOR = "officer-app-e2e-operator-token"  # reads units back from patrol tracking
INTEGRATION_TOKEN = "dev-sy110-token"
ACCEPT_TIMEOUT_S = 15  # dispatch withdraws an order not accepted within this


async def eventually(condition: Any, *, timeout_s: float = 30, what: str = "") -> Any:
    """Waits for `condition()` (a function or a coroutine function) to be truthy; returns it."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                result = condition()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return result
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not within {timeout_s} s: {what}") from None


class Answers:
    """Everything on `workorders.events` since the platform started, read as it arrives."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.seen: list[dict[str, Any]] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        partitions = await partitions_of(self.kafka, self.kafka.topic(WORKORDERS_EVENTS.name))
        assert partitions
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka.bootstrap, group_id=None)
        await self._consumer.start()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            for records in (await self._consumer.getmany(timeout_ms=200)).values():
                self.seen += [orjson.loads(r.value) for r in records]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    def of(self, work_order_id: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["work_order_id"] == work_order_id]

    def kinds(self, work_order_id: str) -> list[tuple[str, str]]:
        """(kind, source) of each answer, in the order the broker has them."""
        return [(e["kind"], e["source"]) for e in self.of(work_order_id)]


@dataclass
class Platform:
    topics: KafkaSettings
    database: PostgresSettings
    logs: Path
    ports: dict[str, int] = field(
        default_factory=lambda: {
            n: free_port() for n in ("alarm", "tracking", "dispatch", "notify", "devices")
        }
    )
    jt808_port: int = field(default_factory=free_port)
    processes: ServiceProcesses | None = None

    def services(self) -> list[Service]:
        names = {
            "alarm": ("alarm", "KJ_ALARM_"),
            "patrol-tracking": ("tracking", "KJ_TRACKING_"),
            "dispatch": ("dispatch", "KJ_DISPATCH_"),
            "notify": ("notify", "KJ_NOTIFY_"),
            "devices": ("devices", "KJ_DEVICES_"),
        }
        return [
            Service(name, f"kj-{name}", self.ports[port], prefix, pinned=True)
            for name, (port, prefix) in names.items()
        ]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def app_url(self) -> str:
        return f"{self.url('devices')}/app/"

    def environment(self) -> dict[str, str]:
        run = uuid.uuid4().hex[:6]
        env = {
            "KJ_KAFKA_TOPIC_PREFIX": self.topics.topic_prefix,
            "KJ_PG_DATABASE": self.database.database,
            "KJ_TERMINAL_TICKET_SECRET": TICKET_SECRET,
            "KJ_DEVICES_NOTIFY_WS_URL": f"ws://127.0.0.1:{self.ports['notify']}/v1/terminals/ws",
            "KJ_DEVICES_JT808_PORT": str(self.jt808_port),
            "KJ_DEVICES_REGISTRY_REFRESH_S": "0.5",
            "KJ_DEVICES_APP_POSITION_FLUSH_S": "0.5",
            "KJ_DEVICES_GROUP_ID": f"devices-e2e-{run}",
            "KJ_DISPATCH_GROUP_ID": f"dispatch-e2e-{run}",
            "KJ_DISPATCH_INSTANCE": f"dispatch-e2e-{run}",
            "KJ_DISPATCH_ACCEPT_TIMEOUT_S": str(ACCEPT_TIMEOUT_S),
            "KJ_TRACKING_GROUP_ID": f"tracking-e2e-{run}",
            "KJ_TRACKING_SWEEP_INTERVAL_S": "0.2",
            # the test reads the unit back as an operator would (decision 0072)
            "KJ_TRACKING_OPERATOR_TOKEN_SHA256": orjson.dumps(
                {"e2e": token_hash(OPERATOR)}
            ).decode(),
            "KJ_NOTIFY_CONSUMER_GROUP": f"notify-e2e-{run}",
        }
        for prefix in ("KJ_ALARM_", "KJ_TRACKING_", "KJ_DISPATCH_", "KJ_NOTIFY_", "KJ_DEVICES_"):
            env[f"{prefix}LOG_LEVEL"] = "warning"
            env[f"{prefix}LOG_JSON"] = "true"
        return env

    async def start(self) -> None:
        self.processes = ServiceProcesses(self.logs, services=self.services())
        self.processes.start(self.environment())
        await self.processes.wait_ready(deadline_s=120)

    def stop(self) -> None:
        if self.processes is not None:
            self.processes.stop()

    async def report(self, scene: tuple[float, float], **fields: Any) -> str:
        """A 110 centre's alarm POSTed to intake; its alarm id."""
        body = {
            "source": "sy110",
            "source_alarm_id": f"APP-E2E-{uuid.uuid4().hex[:12]}",
            "reported_at": datetime.now(UTC).isoformat(),
            "caller_phone": "13807391234",
            "location": {"lat": scene[0], "lon": scene[1]},
            "category": "theft",
            "priority": 2,
        } | fields
        async with httpx.AsyncClient(base_url=self.url("alarm"), timeout=10) as client:
            answer = await client.post(
                "/v1/alarms", json=body, headers={"Authorization": f"Bearer {INTEGRATION_TOKEN}"}
            )
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "accepted", answer.text
        return str(answer.json()["alarm_id"])

    async def alarm(self, alarm_id: str) -> dict[str, Any]:
        """The alarm with its timeline, as the 110 centre reads it."""
        async with httpx.AsyncClient(base_url=self.url("alarm"), timeout=10) as client:
            answer = await client.get(
                f"/v1/alarms/{alarm_id}", headers={"Authorization": f"Bearer {INTEGRATION_TOKEN}"}
            )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def unit(self, unit_id: str) -> dict[str, Any] | None:
        """The unit as patrol tracking has it (None: never heard from)."""
        async with httpx.AsyncClient(base_url=self.url("tracking"), timeout=5) as client:
            answer = await client.get(
                f"/units/{unit_id}", headers={"Authorization": f"Bearer {OPERATOR}"}
            )
        return dict(answer.json()) if answer.status_code == 200 else None
