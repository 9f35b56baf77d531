"""The alarm service as a real process (`python -m kj_alarm.main`) on a free loopback port."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_sim.services import free_port


class ServerProcess:
    def __init__(self, database: PostgresSettings, topics: KafkaSettings, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "KJ_PG_DATABASE": database.database,
            "KJ_PG_POOL_MAX": "20",
            "KJ_KAFKA_TOPIC_PREFIX": topics.topic_prefix,
            "KJ_ALARM_HTTP_PORT": str(port),
            "KJ_ALARM_LOG_LEVEL": "warning",
        }
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, *, deadline_s: float = 30) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives this call
            [sys.executable, "-m", "kj_alarm.main"], env=self.env
        )
        async with httpx.AsyncClient() as client, asyncio.timeout(deadline_s):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"kj-alarm exited with {self.process.returncode}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@asynccontextmanager
async def served(database: PostgresSettings, topics: KafkaSettings) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(database, topics, free_port())
    await server.start()
    try:
        yield server
    finally:
        server.stop()
