"""SIGKILL of the service process and a restart: no unit state lost, no second on_scene."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_sim.services import free_port

from .conftest import (
    OPERATOR_AUTH,
    OPERATOR_HASHES,
    drive,
    eventually,
    on_scene_events,
    send_fixes,
    send_work_order,
    work_order,
)

UNIT = "SY-P02-C1"
SCENE = (27.2389, 111.4677)


@pytest.fixture
async def service_process(
    topics: KafkaSettings, database: PostgresSettings, tmp_path: Path
) -> AsyncIterator[Callable[[], "asyncio.Future[tuple[subprocess.Popen[bytes], str]]"]]:
    group = f"tracking-kill-{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {
        **os.environ,
        "KJ_KAFKA_TOPIC_PREFIX": topics.topic_prefix,
        "KJ_PG_DATABASE": database.database,
        "KJ_TRACKING_HTTP_PORT": str(port),
        "KJ_TRACKING_GROUP_ID": group,
        "KJ_TRACKING_LOG_JSON": "true",
        "KJ_TRACKING_OPERATOR_TOKEN_SHA256": OPERATOR_HASHES,
    }
    processes: list[subprocess.Popen[bytes]] = []
    log_file = (tmp_path / "service.log").open("ab")
    base = f"http://127.0.0.1:{port}"

    async def start() -> tuple[subprocess.Popen[bytes], str]:
        process = subprocess.Popen(  # noqa: ASYNC220 (starts, does not wait)
            [sys.executable, "-m", "kj_tracking.main"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)

        async def ready() -> bool:
            assert process.poll() is None, "the service exited"
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{base}/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, timeout_s=60)
        return process, base

    yield start  # type: ignore[misc]
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    log_file.close()


async def unit_state(base: str) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/units/{UNIT}", headers=OPERATOR_AUTH)
        response.raise_for_status()
        return dict(response.json())


@pytest.mark.slow
async def test_sigkill_and_restart_lose_no_unit_state_and_emit_no_second_on_scene(
    service_process: Callable[[], "asyncio.Future[tuple[subprocess.Popen[bytes], str]]"],
    producer: AIOKafkaProducer,
    topics: KafkaSettings,
) -> None:
    process, base = await service_process()
    order = work_order(SCENE, unit=UNIT)
    work_order_id = str(order.work_order_id)
    await send_work_order(producer, topics, order)
    await eventually(lambda: _status_is(base, "assigned"))

    t0 = time.time() - 60
    fixes = drive((SCENE[0] - 0.004, SCENE[1]), SCENE, t0, steps=30, unit=UNIT)
    fixes += drive(SCENE, SCENE, t0 + 31, steps=5, unit=UNIT)
    await send_fixes(producer, topics, fixes)
    await eventually(lambda: on_scene_events(topics, work_order_id))
    await eventually(lambda: _status_is(base, "on_scene"))
    before = await unit_state(base)

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    _, base = await service_process()
    after = await unit_state(base)
    assert (after["status"], after["work_order_id"]) == ("on_scene", work_order_id)
    assert abs(float(str(after["lat"])) - float(str(before["lat"]))) < 0.0005  # within 50 m
    assert abs(float(str(after["lon"])) - float(str(before["lon"]))) < 0.0005

    # the terminal resends its buffer and stays on scene: still one arrival
    later = drive(SCENE, SCENE, fixes[-1].ts + 1, steps=3, unit=UNIT)
    await send_fixes(producer, topics, fixes + later)
    await eventually(lambda: _fix_ts_is(base, later[-1].ts))
    assert len(await on_scene_events(topics, work_order_id)) == 1


async def _status_is(base: str, status: str) -> bool:
    return (await unit_state(base))["status"] == status


async def _fix_ts_is(base: str, ts: float) -> bool:
    return abs(float(str((await unit_state(base))["fix_ts"])) - ts) < 1e-3
