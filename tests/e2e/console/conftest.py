"""The platform and Chromium for the console's browser tests (issue 17). One stack for the
package: every test works in its own part of the city with its own units, so tests do not take
each other's units."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, Playwright, async_playwright

from kj_console.domain.roles import Role
from kj_console.service_layer.auth import add_user
from kj_runtime.db import create_pool
from kj_runtime.settings import KafkaSettings, PostgresSettings, state_dir
from tests.integration.notify.callback_receiver import Receiver, running_receiver
from tests.integration.notify.terminal_client import Terminal
from tests.isolation import package_database, package_topics

from .browser import chromium
from .stack import DEV_SECRET, FleetDriver, Platform, Unit, offset

database = package_database()  # this package's own database and topics (tests/isolation.py)
topics = package_topics()

PASSWORD = "e2e password 110"
PEOPLE = {
    "wang_fang": ("王芳", Role.viewer),
    "zhang_wei": ("张伟", Role.dispatcher),
    "li_na": ("李娜", Role.dispatcher),
    "chen_jie": ("陈杰", Role.supervisor),
}
SHOTS = state_dir() / "console-e2e"

# each test's corner of the city (a platform's base) and its units, metres east of it
CORNERS = {
    "reassign": ((27.270, 111.450), {"SY-P23-M1": 250, "SY-P23-M2": 700}),
    "duty": ((27.262, 111.504), {"SY-P27-M1": 200, "SY-P27-M2": 700}),
    "race": ((27.206, 111.482), {"SY-P30-M1": 150, "SY-P30-M2": -150, "SY-P30-C1": 600}),
    "appear": ((27.226, 111.430), {"SY-P31-M1": 300}),
    "broadcast": ((27.2545, 111.424), {"SY-P25-M1": 400}),
    # its own unit, halfway along the 1.5 km the scene moves: with none, the moved alarm took
    # one of the race's units and left it on an open order for the race test
    "moved": ((27.232, 111.460), {"SY-P29-M1": 750}),
}
MOVING = Unit("SY-P28-M1", 27.249, 111.515, speed_m_s=15.0, circle_m=400.0)


def units() -> list[Unit]:
    parked = [
        Unit(unit_id, *offset(lat, lon, east))
        for (lat, lon), placed in CORNERS.values()
        for unit_id, east in placed.items()
    ]
    return [*parked, MOVING]


@dataclass
class Stack:
    platform: Platform
    push: Receiver
    terminals: dict[str, Terminal]
    pool: asyncpg.Pool

    @property
    def console_url(self) -> str:
        return self.platform.url("console")

    async def report(self, lat: float, lon: float, **extra: object) -> str:
        """A 110 centre's alarm, POSTed to intake; its alarm id."""
        import uuid
        from datetime import UTC, datetime

        body = {
            "source": "sy110",
            "source_alarm_id": f"E2E-{uuid.uuid4().hex[:12]}",
            "reported_at": datetime.now(UTC).isoformat(),
            "caller_phone": "13807391234",
            "location": {"lat": lat, "lon": lon},
            "address": "测试地址",
            "category": "theft",
            "priority": 2,
            "description": "浏览器测试",
        } | extra
        async with httpx.AsyncClient(base_url=self.platform.url("alarm")) as client:
            answer = await client.post(
                "/v1/alarms", json=body, headers={"Authorization": "Bearer dev-sy110-token"}
            )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["alarm_id"])

    async def update(self, alarm_id: str, **changes: object) -> None:
        """The 110 centre's update of its alarm, POSTed to intake (issue 19)."""
        import uuid

        async with httpx.AsyncClient(base_url=self.platform.url("alarm")) as client:
            answer = await client.post(
                f"/v1/alarms/{alarm_id}/updates",
                json={"update_id": f"E2E-{uuid.uuid4().hex[:12]}", **changes},
                headers={"Authorization": "Bearer dev-sy110-token"},
            )
        assert answer.status_code == 200, answer.text

    async def cancel(self, alarm_id: str) -> None:
        """The 110 centre cancels its alarm (resolved by phone): every unit on it stands down."""
        import uuid

        async with httpx.AsyncClient(base_url=self.platform.url("alarm")) as client:
            answer = await client.post(
                f"/v1/alarms/{alarm_id}/cancel",
                json={"update_id": f"E2E-{uuid.uuid4().hex[:12]}", "reason": "resolved_by_phone"},
                headers={"Authorization": "Bearer dev-sy110-token"},
            )
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="package")
async def stack(
    topics: KafkaSettings, database: PostgresSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    logs = Path(tmp_path_factory.mktemp("console-e2e-logs"))
    pool = await create_pool(database, min_size=1, max_size=3)
    for username, (name, role) in PEOPLE.items():
        await add_user(pool, username=username, display_name=name, role=role, password=PASSWORD)
    async with running_receiver() as push:
        platform = Platform(topics, database, logs, push.url("/push"))
        platform.start()
        driver = FleetDriver(topics, units())
        terminals: dict[str, Terminal] = {}
        try:
            await platform.wait_ready()
            await driver.start()
            ws = platform.url("notify").replace("http", "ws")
            for unit in units():
                from kj_notify.domain.tokens import dev_token

                terminal = Terminal(ws, unit.unit_id, token=dev_token(DEV_SECRET, unit.unit_id))
                terminals[unit.unit_id] = await terminal.connect()
            yield Stack(platform, push, terminals, pool)
        finally:
            for terminal in terminals.values():
                await terminal.close()
            await driver.stop()
            platform.stop()
            await pool.close()


@pytest.fixture(scope="package")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as playwright:
        yield playwright


Open = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_console(stack: Stack, playwright: Playwright) -> AsyncIterator[Open]:
    """A person signed in to the console in a browser of their own."""
    contexts = []

    async def signed_in(username: str) -> Page:
        context_manager = chromium(playwright)
        context = await context_manager.__aenter__()
        contexts.append(context_manager)
        page = await context.new_page()
        await page.goto(stack.console_url)
        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector(".topbar .conn.live", timeout=15_000)
        return page

    yield signed_in
    for context_manager in contexts:
        await context_manager.__aexit__(None, None, None)


async def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path
