"""The hub pushes a delivery while its transaction commits; what the terminal says about it
waits for the outcome, and a terminal that connects meanwhile still gets it."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from kj_notify.adapters.deliveries import Delivery
from kj_notify.entrypoints.hub import Hub, TerminalSession


class FakeSocket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.arrived = asyncio.Condition()

    async def send_json(self, frame: dict[str, Any]) -> None:
        async with self.arrived:
            self.frames.append(frame)
            self.arrived.notify_all()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        pass

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(self.frames) >= count)
        return self.frames


class NothingStored:
    """The table as a sweep sees it while the transaction has not committed yet."""

    async def fetch(self, *_: object) -> list[object]:
        return []


def delivery(unit_id: str, delivery_id: int) -> Delivery:
    return Delivery(
        delivery_id=delivery_id,
        unit_id=unit_id,
        work_order_id=uuid.uuid4(),
        alarm_id=uuid.uuid4(),
        action="assign",
        payload={"unit_id": unit_id},
        issued_at=datetime.now(UTC),
        withdrawn=False,
    )


async def connected(hub: Hub, unit_id: str) -> tuple[TerminalSession, FakeSocket]:
    socket = FakeSocket()
    session = TerminalSession(unit_id, socket, NothingStored())  # type: ignore[arg-type]
    await hub.join(session)
    return session, socket


async def still_waiting(task: asyncio.Task[None]) -> bool:
    for _ in range(20):  # let every ready callback run; the task can only finish via settle()
        await asyncio.sleep(0)
    return not task.done()


async def test_a_delivery_is_sent_before_its_commit_and_acks_wait_for_the_commit() -> None:
    hub = Hub("r1")
    session, socket = await connected(hub, "U1")
    stored = [delivery("U1", 11)]
    outcome = hub.push_before_commit(stored)
    frames = await socket.wait_for(1)
    assert [f["delivery_id"] for f in frames] == [11]

    ack = asyncio.create_task(hub.settled(delivery_id=11))
    answer = asyncio.create_task(hub.settled(work_order_id=stored[0].work_order_id))
    assert await still_waiting(ack)
    assert await still_waiting(answer)
    hub.settle(stored, outcome)
    async with asyncio.timeout(5):
        await asyncio.gather(ack, answer)
    await hub.settled(delivery_id=11)  # nothing left to wait for
    await hub.leave(session)


async def test_other_deliveries_and_orders_do_not_wait() -> None:
    hub = Hub("r1")
    hub.push_before_commit([delivery("U1", 11)])
    async with asyncio.timeout(5):
        await hub.settled(delivery_id=12)
        await hub.settled(work_order_id=uuid.uuid4())


async def test_a_terminal_that_connects_while_its_delivery_commits_still_gets_it() -> None:
    hub = Hub("r1")
    stored = [delivery("U2", 21), delivery("U3", 31)]
    outcome = hub.push_before_commit(stored)  # nobody connected yet
    session, socket = await connected(hub, "U2")
    frames = await socket.wait_for(1)
    assert [f["delivery_id"] for f in frames] == [21]
    hub.settle(stored, outcome)
    await hub.leave(session)
