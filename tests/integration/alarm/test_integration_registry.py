"""The integration registry against the alarm service as a real process (issue 19): a token
`kj-admin` just made works at once, a rotation under load refuses nothing, a revoked token is
refused, a runaway integration is limited (429 with Retry-After, counted) while another keeps
its latency, and a 2 MB body from an async client gets its 413."""

import asyncio
import contextlib
import io
import json
import os
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kj_runtime import admin_cli
from kj_runtime.db import connect
from kj_runtime.settings import KafkaSettings, PostgresSettings

from .conftest import report
from .server import ServerProcess, served

pytestmark = pytest.mark.slow
PROBLEM = "application/problem+json"
RATE = 2  # the runaway's limit: requests a second, and its burst
CALM_WORKERS = 4  # the calm integration's callers at once, each pausing 50 ms between reports
CALM_WINDOW_S = 4.0  # each timed window: alone before, beside the runaway, alone after
RUNAWAY_PER_S = 250  # what the runaway offers, from plain sockets (flood.py): 125 times its limit
RUNAWAY_CONNECTIONS = 16
LATENCY_RATIO = 3.0  # the calm p90 beside the runaway may be this many times its p90 alone


async def admin(database: PostgresSettings, *argv: str) -> str:
    """`kj-admin` as an operator runs it; its output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await admin_cli.run(list(argv), database)
    assert code == 0, out.getvalue()
    return out.getvalue()


def printed_token(output: str) -> tuple[str, str]:
    """(token id, token) from `add`'s or `rotate`'s output."""
    found = re.search(r"token (tok_[0-9a-f]+) \(shown once\): (\S+)", output)
    assert found is not None, output
    return found[1], found[2]


def name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
async def server(database: PostgresSettings, topics: KafkaSettings) -> AsyncIterator[ServerProcess]:
    async with served(database, topics) as running:
        yield running


async def post(client: httpx.AsyncClient, token: str, source: str) -> httpx.Response:
    return await client.post(
        "/v1/alarms",
        json=report(source=source),
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_new_token_works_at_once_and_a_revoked_one_is_refused(
    server: ServerProcess, database: PostgresSettings
) -> None:
    source = name("new")
    token_id, token = printed_token(await admin(database, "integrations", "add", source))
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        # the service read the registry before the token existed: it reads again, not 401
        assert (await post(client, token, source)).status_code == 201
        listed = await admin(database, "integrations", "list")
        assert source in listed and token_id in listed and token not in listed
        await admin(database, "integrations", "revoke", source, "--token", token_id)
        async with asyncio.timeout(15):  # the next read of the registry (every 2 s)
            while (answer := await post(client, token, source)).status_code != 401:
                await asyncio.sleep(0.2)
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["type"] == "tag:kuaijing,2026:unauthorized"


async def test_a_rotation_under_load_refuses_nothing(
    server: ServerProcess, database: PostgresSettings
) -> None:
    """The runbook's drill: rotate (the old token keeps working), move the clients to the new
    one as each learns of it, revoke the old one; meanwhile 8 clients report without pause."""
    source = name("rot")
    old_id, old = printed_token(await admin(database, "integrations", "add", source))
    current = {"token": old}
    answers: Counter[int] = Counter()
    by_token: Counter[str] = Counter()
    stop = asyncio.Event()

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            token = current["token"]
            answer = await post(client, token, source)
            answers[answer.status_code] += 1
            by_token["old" if token == old else "new"] += 1

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        workers = [asyncio.create_task(client_loop(client)) for _ in range(8)]
        try:
            await asyncio.sleep(1.5)
            _, new = printed_token(
                await admin(database, "integrations", "rotate", source, "--overlap", "1h")
            )
            current["token"] = new  # every client moves at once, before any refresh
            await asyncio.sleep(1.5)
            await admin(database, "integrations", "revoke", source, "--token", old_id)
            await asyncio.sleep(3.0)  # past the next read of the registry
        finally:
            stop.set()
            await asyncio.gather(*workers)
        assert (await post(client, old, source)).status_code == 401  # the old one is gone
    assert by_token["old"] >= 10 and by_token["new"] >= 10, by_token
    assert set(answers) == {201}, answers  # not one refused request


@pytest.mark.serial  # it times latency: the other worker's load made the ratio 3.6 (0159)
async def test_a_runaway_integration_is_limited_while_another_keeps_its_latency(
    server: ServerProcess, database: PostgresSettings
) -> None:
    """The calm integration's p90 while the runaway is refused, against its own p90 alone just
    before and just after (the same machine, the same minute): within LATENCY_RATIO, and every
    one of its reports accepted and recorded. p90, not p99: one stall of the shared machine
    (another process taking the core for half a second) holds all CALM_WORKERS requests in
    flight, and 4 of about 200 reports beside the runaway are its whole p99 (0.469 s against
    0.033 s alone in a clean clone, passing alone right after)."""
    runaway, calm = name("run"), name("calm")
    _, runaway_token = printed_token(
        await admin(
            database, "integrations", "add", runaway, "--rate", str(RATE), "--burst", str(RATE)
        )
    )
    _, calm_token = printed_token(await admin(database, "integrations", "add", calm))
    accepted = 0

    async def calm_latencies(client: httpx.AsyncClient, seconds: float) -> list[float]:
        """The calm integration reporting at its own pace from CALM_WORKERS callers: the time
        each answer took."""
        taken: list[float] = []
        until = time.monotonic() + seconds

        async def caller() -> None:
            nonlocal accepted
            while time.monotonic() < until:
                started = time.perf_counter()
                answer = await post(client, calm_token, calm)
                taken.append(time.perf_counter() - started)
                assert answer.status_code == 201, answer.text
                accepted += 1
                await asyncio.sleep(0.05)

        await asyncio.gather(*(caller() for _ in range(CALM_WORKERS)))
        return taken

    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        await calm_latencies(client, 0.5)  # warm
        before = await calm_latencies(client, CALM_WINDOW_S)
        runaway_process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.alarm.flood",
            server.url,
            runaway_token,
            runaway,
            str(CALM_WINDOW_S + 2.0),
            str(RUNAWAY_CONNECTIONS),
            str(RUNAWAY_PER_S),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            await asyncio.sleep(1.0)  # past its burst: refused from here on
            beside = await calm_latencies(client, CALM_WINDOW_S)
        finally:
            out, _ = await runaway_process.communicate()
        after = await calm_latencies(client, CALM_WINDOW_S)
        metrics = (await client.get("/metrics")).text
    flood = json.loads(out)
    statuses = {int(k): v for k, v in flood["statuses"].items()}
    # the runaway got its rate and no more: the rest were refused cheaply
    assert set(statuses) <= {201, 429}, statuses
    assert statuses.get(201, 0) <= RATE + RATE * (CALM_WINDOW_S + 2.0) + 1, statuses
    assert statuses[429] >= 10 * CALM_WINDOW_S, statuses  # refused all through `beside`
    headers, problem = flood["first_429"]["headers"], flood["first_429"]["body"]
    assert headers["content-type"] == PROBLEM
    assert int(headers["retry-after"]) >= 1
    assert problem["type"] == "tag:kuaijing,2026:rate-limited"
    assert problem["retry_after_s"] == int(headers["retry-after"])
    counted = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("kj_integration_requests_limited_total{")
        and f'integration="{runaway}"' in line
        and 'service="alarm"' in line
    ]
    assert counted and counted[0] >= statuses[429], counted
    # the calm integration: never refused (asserted in calm_latencies), every report recorded
    connection = await connect(database)
    try:
        recorded = await connection.fetchval("select count(*) from alarms where source = $1", calm)
    finally:
        await connection.close()
    assert recorded == accepted, (recorded, accepted)
    # ... and its latency kept: p90 beside the runaway against p90 alone, side by side
    alone = before + after
    assert len(alone) >= 60 and len(beside) >= 30, (len(alone), len(beside))
    p90_alone, p90_beside = _p90(alone), _p90(beside)
    print(
        f"calm p90 alone {p90_alone * 1000:.1f} ms ({len(alone)} reports), beside the runaway "
        f"{p90_beside * 1000:.1f} ms ({len(beside)}): x{p90_beside / p90_alone:.2f}; "
        f"runaway {statuses}"
    )
    assert p90_beside <= LATENCY_RATIO * p90_alone, (p90_alone, p90_beside, os.getloadavg())


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


async def test_an_async_client_sending_2_mb_receives_the_413(server: ServerProcess) -> None:
    """Issue 19: intake answered before reading the body and the reset wiped out the 413."""
    from kj_alarm.settings import DEV_TOKEN

    body: dict[str, Any] = report(description="x" * (2 * 1024 * 1024))
    headers = {"Authorization": f"Bearer {DEV_TOKEN}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for _ in range(5):
            answer = await client.post("/v1/alarms", json=body, headers=headers)
            assert answer.status_code == 413
            assert answer.headers["content-type"] == PROBLEM
            assert answer.json()["type"] == "tag:kuaijing,2026:payload-too-large"
