"""Dispatch run as its own process (`python -m kj_dispatch.main`), as in production: started,
probed over its ops HTTP port, stopped or killed."""

import asyncio
import os
import subprocess
import sys

from kj_runtime.settings import KafkaSettings, PostgresSettings


def spawn_dispatch(
    topics: KafkaSettings,
    database: PostgresSettings,
    *,
    port: int,
    group_id: str,
    instance: str = "dispatch-0",
    **settings: str,
) -> subprocess.Popen[bytes]:
    """`settings`: more KJ_DISPATCH_* settings, by field name."""
    env = os.environ | {
        "KJ_KAFKA_TOPIC_PREFIX": topics.topic_prefix,
        "KJ_PG_DATABASE": database.database,
        "KJ_DISPATCH_HTTP_PORT": str(port),
        "KJ_DISPATCH_GROUP_ID": group_id,
        "KJ_DISPATCH_LOG_LEVEL": "warning",
        "KJ_DISPATCH_ACCEPT_TIMEOUT_S": "600",
        "KJ_DISPATCH_QUEUE_RETRY_S": "0.3",
        "KJ_DISPATCH_INDEX_REBUILD_INTERVAL_S": "0",
        "KJ_DISPATCH_INSTANCE": instance,
        **{f"KJ_DISPATCH_{name.upper()}": value for name, value in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kj_dispatch.main"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM; the process must have shut down cleanly within 15 s (else it is killed)."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    assert process.returncode in (0, -15), (
        process.stderr.read().decode()[-2000:] if process.stderr else ""
    )


async def get(port: int, path: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
    body = await reader.read()
    writer.close()
    return body.decode()


def metric_sum(metrics: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


async def ready(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.write(b"GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n")
    status = await reader.readline()
    writer.close()
    return b" 200 " in status


async def wait_ready(*ports: int, within_s: float = 60) -> None:
    async with asyncio.timeout(within_s):
        while not all([await ready(port) for port in ports]):
            await asyncio.sleep(0.2)
