"""The officer app signs in at the device gateway with its phone's credentials and reaches
notify's terminal socket with the ticket it got, as a subprotocol (no Authorization header)."""

import asyncio
import uuid

import httpx
import pytest
import websockets
from pydantic import SecretStr

from kj_devices.domain.binding import Protocol
from kj_notify.bootstrap import run as run_notify
from kj_notify.settings import NotifySettings
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_sim.services import free_port

from .conftest import Bind, Gateway

SECRET = "ticket-secret-for-tests-0123456789"


async def test_a_ticket_opens_the_terminal_socket_for_its_unit_only(
    gateway: Gateway, bind: Bind, topics: KafkaSettings, database: PostgresSettings
):
    gateway.core.settings.ticket_secret = SecretStr(SECRET)
    added = await bind("phone-app-1", "SY-P03-C1", protocol=Protocol.http)
    port = free_port()
    settings = NotifySettings(
        kafka=topics,
        postgres=database,
        http_port=port,
        consume=False,
        ticket_secret=SecretStr(SECRET),
        consumer_group=f"notify-{uuid.uuid4().hex[:6]}",
    )
    stop = asyncio.Event()
    notify = asyncio.create_task(run_notify(settings, stop))
    try:
        async with httpx.AsyncClient(base_url=gateway.http_url) as client:
            wrong = await client.post(
                "/app/api/session", json={"device_id": "phone-app-1", "token": "guess"}
            )
            assert wrong.status_code == 401
            answer = await client.post(
                "/app/api/session", json={"device_id": "phone-app-1", "token": added.secret}
            )
            assert answer.status_code == 200, answer.text
            session = answer.json()
        assert session["unit_id"] == "SY-P03-C1"
        url = f"ws://127.0.0.1:{port}/v1/terminals/ws?unit_id=SY-P03-C1"
        protocol = f"kj-ticket.{session['ticket']}"
        async with asyncio.timeout(30):
            while True:  # notify starting
                try:
                    socket = await websockets.connect(url, subprotocols=[protocol])
                    break
                except OSError:
                    await asyncio.sleep(0.2)
        async with socket:
            assert socket.subprotocol == protocol
            assert '"hello"' in await asyncio.wait_for(socket.recv(), 10)
        other = f"ws://127.0.0.1:{port}/v1/terminals/ws?unit_id=SY-P03-C2"
        with pytest.raises(websockets.exceptions.WebSocketException):
            async with websockets.connect(other, subprotocols=[protocol]) as refused:
                await asyncio.wait_for(refused.recv(), 10)
    finally:
        stop.set()
        await asyncio.wait_for(notify, 30)
