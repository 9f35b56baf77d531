"""The console built by its own bootstrap and run by the service host on a free loopback port,
against this package's database and topics; people to sign in as; a browser's socket."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import websockets

from kj_console.bootstrap import build
from kj_console.domain.roles import Role
from kj_console.service_layer.auth import add_user
from kj_console.service_layer.console import Console
from kj_console.settings import ConsoleSettings
from kj_runtime.db import create_pool
from kj_runtime.host import Host, hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_sim.services import free_port
from tests.isolation import package_database, package_topics

database = package_database()  # this package's own database and topics (tests/isolation.py)
topics = package_topics()

PASSWORD = "correct horse battery"
SECRET = "a-session-key-for-these-tests-only"


@pytest.fixture(scope="package")
async def people(database: PostgresSettings) -> dict[str, str]:
    """A viewer, two dispatchers and a supervisor, all with PASSWORD."""
    pool = await create_pool(database, min_size=1, max_size=2)
    names = {
        "wang_fang": Role.viewer,
        "zhang_wei": Role.dispatcher,
        "li_na": Role.dispatcher,
        "chen_jie": Role.supervisor,
    }
    try:
        for name, role in names.items():
            await add_user(pool, username=name, display_name=name, role=role, password=PASSWORD)
    finally:
        await pool.close()
    return {name: str(role) for name, role in names.items()}


def console_settings(
    topics: KafkaSettings, database: PostgresSettings, **extra: Any
) -> ConsoleSettings:
    values: dict[str, Any] = {
        "kafka": topics,
        "postgres": database,
        "http_port": free_port(),
        "session_secret": SECRET,
        "position_interval_s": 0.25,
        "reconcile_interval_s": 1.0,
        "login_max_failures": 3,
        "login_lock_s": 60,
    }
    return ConsoleSettings(**(values | extra))


@pytest.fixture
async def console(
    topics: KafkaSettings, database: PostgresSettings, people: dict[str, str]
) -> AsyncIterator[Host[Console]]:
    service = await build(console_settings(topics, database))
    async with hosted(service) as host:
        async with asyncio.timeout(30):
            while not await _ready(host):
                await asyncio.sleep(0.1)
        yield host


async def _ready(host: Host[Console]) -> bool:
    port = host.core.settings.http_port
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Person:
    """One person's browser: its cookie jar and CSRF token."""

    client: httpx.AsyncClient
    csrf: str
    cookie: str

    async def act(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
async def sign_in(console: Host[Console]) -> AsyncIterator[Callable[..., Any]]:
    clients: list[httpx.AsyncClient] = []
    base = f"http://127.0.0.1:{console.core.settings.http_port}"

    async def person(name: str) -> Person:
        client = httpx.AsyncClient(base_url=base)
        clients.append(client)
        answer = await client.post("/api/login", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return Person(client, answer.json()["csrf"], client.cookies["kj_console_session"])

    yield person
    for client in clients:
        await client.aclose()


class Screen:
    """A browser's socket: every message it got, and waits on what appears."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.messages: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        self.bytes = 0
        self._task = asyncio.create_task(self._read())
        self._changed = asyncio.Event()

    async def _read(self) -> None:
        async for raw in self.socket:
            self.bytes += len(raw)
            self.messages.append(orjson.loads(raw))
            self.arrived.append(asyncio.get_running_loop().time())
            self._changed.set()

    async def wait_for(self, find: Callable[[dict[str, Any]], Any], within_s: float = 10) -> Any:
        async with asyncio.timeout(within_s):
            while True:
                for message in self.messages:
                    if found := find(message):
                        return found
                self._changed.clear()
                await self._changed.wait()

    async def close(self) -> None:
        await self.socket.close()
        self._task.cancel()


@pytest.fixture
async def screen(console: Host[Console]) -> AsyncIterator[Callable[..., Any]]:
    opened: list[Screen] = []
    port = console.core.settings.http_port

    async def open_screen(person: Person, *, origin: str | None = None) -> Screen:
        socket = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws",
            additional_headers={
                "Cookie": f"kj_console_session={person.cookie}",
                "Origin": origin or f"http://127.0.0.1:{port}",
            },
        )
        shown = Screen(socket)
        opened.append(shown)
        return shown

    yield open_screen
    for shown in opened:
        await shown.close()


def unique() -> str:
    return uuid.uuid4().hex[:8]
