"""Helpers for dispatch's integration tests: other services' messages produced directly on
their topics, and a watcher that collects what dispatch publishes."""

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel

from kj_runtime.settings import KafkaSettings
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import GeoPoint
from kj_schemas.city import load_city
from kj_schemas.codec import decode, encode
from kj_schemas.commands import AnyCommand, CommandHandled, DispatchCommand
from kj_schemas.enums import (
    AlarmCategory,
    EventSource,
    ResponseTier,
    UnitStatus,
    WorkOrderEventKind,
)
from kj_schemas.topics import ALARMS_ACCEPTED, DISPATCH_COMMANDS, UNITS_STATE, WORKORDERS_EVENTS
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import CommandNotice, WorkOrder, WorkOrderEvent

from ...stack import SAMPLE_CITY

CITY = load_city(SAMPLE_CITY)
REGION = CITY.region
LAT0, LON0 = 27.2412, 111.4688  # 人民广场


def east(metres: float, north: float = 0.0) -> tuple[float, float]:
    return (
        LAT0 + north / 110_574,
        LON0 + metres / (111_320 * math.cos(math.radians(LAT0))),
    )


def now() -> datetime:
    return datetime.now(UTC)


def amended(original: AlarmAccepted, **changes: Any) -> AlarmAccepted:
    """The alarm again, as the alarm service sends it after an update or a cancel."""
    fields = original.model_dump()
    fields |= {"message_id": uuid4(), **changes}
    return AlarmAccepted.model_validate(fields)


def unit_state(
    unit_id: str, at: tuple[float, float], status: UnitStatus = UnitStatus.available
) -> UnitState:
    unit = CITY.unit_by_id[unit_id]
    t = now()
    return UnitState(
        unit_id=unit_id,
        platform_id=unit.platform,
        kind=unit.kind,
        status=status,
        lat=at[0],
        lon=at[1],
        fix_at=t,
        last_seen_at=t,
    )


def alarm(
    at: tuple[float, float],
    *,
    priority: int = 2,
    category: AlarmCategory = AlarmCategory.theft,
    target_seconds: int = 180,
    tier: ResponseTier = ResponseTier.central_city,
    **extra: Any,
) -> AlarmAccepted:
    t = now()
    return AlarmAccepted(
        alarm_id=uuid4(),
        region=REGION,
        source="test110",
        source_alarm_id=uuid4().hex,
        reported_at=t - timedelta(seconds=1),
        received_at=t,
        location=GeoPoint(lat=at[0], lon=at[1]),
        category=category,
        priority=priority,
        tier=tier,
        target_seconds=target_seconds,
        **extra,
    )


def event(
    order: WorkOrder,
    kind: WorkOrderEventKind,
    *,
    source: EventSource = EventSource.terminal,
    **extra: Any,
) -> WorkOrderEvent:
    return WorkOrderEvent(
        work_order_id=order.work_order_id,
        unit_id=order.unit_id,
        kind=kind,
        source=source,
        occurred_at=now(),
        **extra,
    )


class Peers:
    """Produces what the alarm service, patrol tracking and the terminals would."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=1)

    async def __aenter__(self) -> "Peers":
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def _send(self, topic: str, key: str, message: BaseModel) -> None:
        await self.producer.send_and_wait(
            self.settings.topic(topic), encode(message), key=key.encode()
        )

    async def units(self, *states: UnitState) -> None:
        futures = [
            await self.producer.send(
                self.settings.topic(UNITS_STATE.name), encode(s), key=s.unit_id.encode()
            )
            for s in states
        ]
        await asyncio.gather(*futures)

    async def alarm(self, message: AlarmAccepted) -> None:
        await self._send(ALARMS_ACCEPTED.name, message.region, message)

    async def event(self, message: WorkOrderEvent) -> None:
        await self._send(WORKORDERS_EVENTS.name, message.unit_id, message)

    async def command(
        self, body: AnyCommand, *, actor: str = "zhang_wei", **extra: Any
    ) -> DispatchCommand:
        """A dispatcher's command, as the console sends it."""
        fields: dict[str, Any] = {"region": REGION, "issued_at": now(), "command_id": uuid4()}
        message = DispatchCommand(actor=actor, command=body, **(fields | extra))
        await self._send(DISPATCH_COMMANDS.name, message.region, message)
        return message


class Watcher:
    """Collects work orders and notices dispatch publishes; waits on conditions. Orders issued
    before it started are left out: an earlier test's dispatcher may have written one to the
    outbox as it stopped, and this test's dispatcher relays it (nothing in an outbox is lost),
    where it would pass for this test's (a clean clone's run once took such a post)."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.consumer = AIOKafkaConsumer(
            settings.topic("dispatch.workorders"),
            settings.topic("dispatch.notices"),
            settings.topic("dispatch.command_results"),
            bootstrap_servers=settings.bootstrap,
            group_id=f"watch-{uuid4().hex[:8]}",
            auto_offset_reset="latest",
        )
        self.orders: list[WorkOrder] = []
        self.notices: list[CommandNotice] = []
        self.results: list[CommandHandled] = []
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.since = datetime.now(UTC)  # orders issued before are an earlier test's

    async def __aenter__(self) -> "Watcher":
        self.since = datetime.now(UTC)
        await self.consumer.start()
        while not self.consumer.assignment():
            await asyncio.sleep(0.05)
        for tp in self.consumer.assignment():
            await self.consumer.seek_to_end(tp)
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()

    async def _run(self) -> None:
        async for record in self.consumer:
            if record.topic.endswith("dispatch.workorders"):
                order = decode(WorkOrder, record.value)
                if order.issued_at < self.since:
                    continue  # an earlier test's, relayed late
                self.orders.append(order)
            elif record.topic.endswith("dispatch.command_results"):
                self.results.append(decode(CommandHandled, record.value))
            else:
                self.notices.append(decode(CommandNotice, record.value))
            self._changed.set()

    async def wait_for(self, condition: Callable[[], Any], within_s: float = 20) -> Any:
        async with asyncio.timeout(within_s):
            while not (result := condition()):
                self._changed.clear()
                await self._changed.wait()
            return result

    def for_alarm(self, alarm_id: UUID, action: str = "assign") -> list[WorkOrder]:
        return [o for o in self.orders if o.alarm_id == alarm_id and o.action == action]

    def result_of(self, command: DispatchCommand) -> list[CommandHandled]:
        return [r for r in self.results if r.command_id == command.command_id]

    def notices_for(self, alarm_id: UUID, kind: str) -> list[CommandNotice]:
        return [n for n in self.notices if n.alarm_id == alarm_id and n.kind == kind]


class Terminals:
    """Every unit's terminal: accepts each work order it is given at once and closes it
    `close_after_s` later; counts the work orders it answered."""

    def __init__(self, settings: KafkaSettings, peers: Peers, *, close_after_s: float) -> None:
        self.peers = peers
        self.close_after_s = close_after_s
        self.answered = 0
        self.consumer = AIOKafkaConsumer(
            settings.topic("dispatch.workorders"),
            bootstrap_servers=settings.bootstrap,
            group_id=f"terminals-{uuid4().hex[:6]}",
            auto_offset_reset="latest",
        )
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> "Terminals":
        await self.consumer.start()
        while not self.consumer.assignment():
            await asyncio.sleep(0.05)
        for tp in self.consumer.assignment():
            await self.consumer.seek_to_end(tp)
            await self.consumer.position(tp)
        self._tasks.add(asyncio.create_task(self._run()))
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
        await self.consumer.stop()

    async def _run(self) -> None:
        async for record in self.consumer:
            order = decode(WorkOrder, record.value)
            if order.action == "assign":
                await self.peers.event(event(order, WorkOrderEventKind.accepted))
                self.answered += 1
                if self.close_after_s > 0:
                    task = asyncio.create_task(self._close_later(order))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    await self._close(order)

    async def _close_later(self, order: WorkOrder) -> None:
        await asyncio.sleep(self.close_after_s)  # the unit's time on the call
        await self._close(order)

    async def _close(self, order: WorkOrder) -> None:
        await self.peers.event(event(order, WorkOrderEventKind.closed, disposition_code="resolved"))
