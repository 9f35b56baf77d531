"""The platform the officer app talks to, as processes (platform.py), with each test's phone
bound in the device registry as a bureau binds it (`kj-devices devices add --phone`), and
Debian's Chromium as the phone (phone.py)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import BrowserContext, Playwright, async_playwright

from kj_devices.adapters import registry_store
from kj_devices.domain.binding import Protocol
from kj_runtime.db import connect
from kj_runtime.settings import KafkaSettings, PostgresSettings, state_dir
from tests.isolation import package_database, package_topics

from .phone import phone_browser
from .platform import Answers, Platform, eventually

database = package_database()
topics = package_topics()
SHOTS = state_dir() / "officer-app-e2e"  # each test's screenshots, kept after the run


@dataclass
class Stack:
    platform: Platform
    answers: Answers
    database: PostgresSettings


@pytest.fixture(scope="package")
async def stack(
    topics: KafkaSettings, database: PostgresSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    platform = Platform(topics, database, tmp_path_factory.mktemp("officer-app-logs"))
    answers = Answers(topics)
    try:
        await platform.start()
        await answers.start()
        yield Stack(platform, answers, database)
    finally:
        await answers.stop()
        platform.stop()


@dataclass(frozen=True)
class Officer:
    unit_id: str
    device_id: str
    token: str


@pytest.fixture
async def officer(stack: Stack) -> Callable[[str], Awaitable[Officer]]:
    """Binds a phone to the unit in the registry (a new token each time) and returns once the
    gateway takes its token."""

    async def bind(unit_id: str) -> Officer:
        db = await connect(stack.database)
        try:
            added = await registry_store.add(
                db,
                protocol=Protocol.http,
                device_id=f"phone-{unit_id.lower()}",
                unit_id=unit_id,
                replace=True,
            )
        finally:
            await db.close()

        async def taken() -> bool:
            async with httpx.AsyncClient(base_url=stack.platform.url("devices")) as client:
                answer = await client.post(
                    "/app/api/session",
                    json={"device_id": added.device_id, "token": added.secret},
                )
            return answer.status_code == 200

        await eventually(taken, what=f"the gateway takes {added.device_id}'s token")
        return Officer(unit_id, added.device_id, added.secret)

    return bind


@pytest.fixture(scope="package")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as playwright:
        yield playwright


@pytest.fixture
async def phone(playwright: Playwright) -> AsyncIterator[BrowserContext]:
    async with phone_browser(playwright) as context:
        yield context
