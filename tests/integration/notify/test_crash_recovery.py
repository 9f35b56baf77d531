"""Notify is killed with SIGKILL while work orders are in flight to connected terminals; after
a restart and reconnect every terminal holds exactly its own work orders, none missing."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import encode
from kj_schemas.topics import DISPATCH_WORKORDERS
from kj_sim.services import free_port

from .conftest import unit, wait_ready, work_order
from .terminal_client import DEV_SECRET, Terminal

TERMINALS = 50
ORDERS = 200


class NotifyProcess:
    """`kj-notify` as its own OS process, so it can be killed for real."""

    def __init__(self, kafka: KafkaSettings, pg: PostgresSettings, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.env = {
            **os.environ,
            "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "KJ_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
            "KJ_PG_DATABASE": pg.database,
            "KJ_PG_HOST": pg.host,
            "KJ_PG_PORT": str(pg.port),
            "KJ_NOTIFY_HTTP_PORT": str(self.port),
            "KJ_NOTIFY_DEV_TOKEN_SECRET": DEV_SECRET,
            "KJ_NOTIFY_CONSUMER_GROUP": f"notify-crash-{self.port}",
            "KJ_NOTIFY_LOG_JSON": "true",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kj_notify.main"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def notify_process(
    topics: KafkaSettings, database: PostgresSettings, tmp_path: Path
) -> Iterator[NotifyProcess]:
    process = NotifyProcess(topics, database, tmp_path / "notify.log")
    yield process
    process.stop()


@pytest.mark.slow
async def test_after_sigkill_and_restart_every_terminal_holds_exactly_its_work_orders(
    notify_process: NotifyProcess, topics: KafkaSettings, producer: AIOKafkaProducer
) -> None:
    notify_process.start()
    base = f"http://127.0.0.1:{notify_process.port}"
    await wait_ready(base, deadline_s=60)
    ws = f"ws://127.0.0.1:{notify_process.port}"
    terminals = [Terminal(ws, unit("CRASH")) for _ in range(TERMINALS)]
    try:
        await asyncio.gather(*(terminal.connect() for terminal in terminals))
        expected: dict[str, set[str]] = {terminal.unit_id: set() for terminal in terminals}
        orders = []
        for i in range(ORDERS):
            order = work_order(terminals[i % TERMINALS].unit_id)
            expected[order.unit_id].add(str(order.work_order_id))
            orders.append(order)

        async def publish_all() -> None:
            for order in orders:
                await producer.send(
                    topics.topic(DISPATCH_WORKORDERS.name),
                    encode(order),
                    key=order.unit_id.encode(),
                )
                await asyncio.sleep(0.002)  # a stream, not one burst
            await producer.flush()

        publishing = asyncio.create_task(publish_all())

        def received() -> int:
            return sum(len(t.assigned()) for t in terminals)

        # kill while deliveries are flowing: some have arrived, most have not
        async with asyncio.timeout(60):
            while received() < 20:
                await asyncio.sleep(0.005)
        notify_process.kill()
        await publishing
        assert received() < ORDERS, "everything arrived before the kill; nothing was in flight"

        await asyncio.gather(*(terminal.close() for terminal in terminals))
        notify_process.start()
        await wait_ready(base, deadline_s=60)
        await asyncio.gather(*(terminal.connect() for terminal in terminals))

        for terminal in terminals:
            await terminal.wait_for(
                lambda t=terminal: t.assigned() >= expected[t.unit_id], deadline_s=60
            )
        for terminal in terminals:
            assert terminal.assigned() == expected[terminal.unit_id]
            assert all(
                f["work_order"]["unit_id"] == terminal.unit_id
                for f in terminal.frames
                if f["type"] == "work_order"
            )
    finally:
        await asyncio.gather(*(terminal.close() for terminal in terminals), return_exceptions=True)
