"""The officers' terminals: one WebSocket per unit to the notify gateway. Each acknowledges
what it receives, accepts after a realistic delay (a set share never answer), drives to the
scene, presses on-scene now and then (GPS detects the arrival anyway), and closes with a
disposition. Reconnects when the network drops."""

import asyncio
import contextlib
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import structlog
import websockets

from kj_sim.fleet import Fleet

log = structlog.get_logger(__name__)

DISPOSITIONS = ("resolved_on_scene", "mediated", "suspect_detained", "referred", "false_alarm")


def dev_token(secret: str, unit_id: str) -> str:
    """The notify gateway's dev-mode device token (HMAC of the unit id with the dev secret)."""
    return hmac.new(secret.encode(), f"unit:{unit_id}".encode(), hashlib.sha256).hexdigest()


def gateway_ws_url(notify_url: str) -> str:
    """The terminals' WebSocket address on the notify gateway at `notify_url`."""
    return notify_url.replace("http://", "ws://").rstrip("/") + "/v1/terminals/ws"


def _text(frame: dict[str, Any]) -> str:
    """Frames go as text frames, as the gateway documents (JSON in UTF-8)."""
    return orjson.dumps(frame).decode()


class GatewayTerminals:
    def __init__(
        self,
        notify_url: str,
        *,
        dev_secret: str,
        seed: int,
        never_answer_share: float = 0.03,
        button_share: float = 0.5,
    ) -> None:
        self.ws_url = gateway_ws_url(notify_url)
        self.dev_secret = dev_secret
        self.rng = np.random.default_rng(seed + 17)
        self.never_answer_share = never_answer_share
        self.button_share = button_share
        self.sockets: dict[str, Any] = {}
        self.fleet: Fleet | None = None
        self.connected = 0
        self.orders_received = 0

    async def run(self, fleet: Fleet, stop: asyncio.Event) -> None:
        self.fleet = fleet
        tasks = [asyncio.create_task(self._terminal(unit_id, stop)) for unit_id in fleet.unit_ids]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _terminal(self, unit_id: str, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {dev_token(self.dev_secret, unit_id)}"}
        backoff = 0.5
        while not stop.is_set():
            try:
                async with websockets.connect(
                    f"{self.gateway_for(unit_id)}?unit_id={unit_id}",
                    additional_headers=headers,
                    # as the officer's app in a browser: it sends no pings of its own, it
                    # answers the gateway's (which spreads them, decision 0182)
                    ping_interval=None,
                ) as socket:
                    self.sockets[unit_id] = socket
                    self.connected += 1
                    backoff = 0.5
                    try:
                        async for raw in socket:
                            await self._on_frame(unit_id, socket, orjson.loads(raw))
                    finally:
                        self.connected -= 1
                        self.sockets.pop(unit_id, None)
            except (OSError, websockets.WebSocketException) as error:
                log.debug("terminal_disconnected", unit_id=unit_id, error=repr(error))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    def gateway_for(self, unit_id: str) -> str:
        """The gateway's WebSocket address this unit's terminal connects to: one gateway here;
        a load generator spreading terminals over several gateway replicas says otherwise."""
        return self.ws_url

    async def _on_frame(self, unit_id: str, socket: Any, frame: dict[str, Any]) -> None:
        if frame.get("type") != "work_order":
            return
        await socket.send(_text({"type": "ack", "delivery_id": frame["delivery_id"]}))
        assert self.fleet is not None
        unit = self.fleet.index[unit_id]
        order = frame["work_order"]
        work_order_id = frame["work_order_id"]
        if order.get("post_id"):  # a post to patrol: nothing to answer, the unit drives there
            if frame.get("withdrawn") or frame.get("action") == "withdraw":
                self.fleet.leave_post(unit, work_order_id)
            else:
                scene = order["scene"]
                radius = float(order.get("patrol_radius_m") or 100)
                self.fleet.send_to_post(unit, scene["lat"], scene["lon"], work_order_id, radius)
            return
        if frame.get("withdrawn") or frame.get("action") == "withdraw":
            if self.fleet.work_order[unit] == work_order_id:
                self.fleet.stand_down(unit)
            return
        self.orders_received += 1
        if self.rng.uniform() < self.never_answer_share:
            return  # the officer never answers: dispatch must re-assign
        await asyncio.sleep(float(self.rng.lognormal(np.log(6.0), 0.5)))
        # a read receipt lost with a dropped connection does not stop the officer answering
        with contextlib.suppress(websockets.WebSocketException):
            await socket.send(_text({"type": "read", "delivery_id": frame["delivery_id"]}))
        await self._answer(unit_id, work_order_id, "accepted")
        self.fleet.send_to_scene(unit, order["scene"]["lat"], order["scene"]["lon"], work_order_id)
        await self._answer(unit_id, work_order_id, "en_route")

    async def _answer(self, unit_id: str, work_order_id: str, kind: str, **extra: str) -> None:
        socket = self.sockets.get(unit_id)
        if socket is None:
            return
        frame = {
            "type": "event",
            "work_order_id": work_order_id,
            "kind": kind,
            "event_id": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC).isoformat(),
            **extra,
        }
        try:
            await socket.send(
                orjson.dumps(frame).decode()
            )  # a text frame, as the gateway documents
        except websockets.WebSocketException:
            log.debug("answer_lost", unit_id=unit_id, kind=kind)

    async def arrived(self, unit_id: str, work_order_id: str) -> None:
        if work_order_id and self.rng.uniform() < self.button_share:
            await self._answer(unit_id, work_order_id, "on_scene")

    async def cleared(self, unit_id: str, work_order_id: str) -> None:
        if work_order_id:
            disposition = DISPOSITIONS[int(self.rng.integers(len(DISPOSITIONS)))]
            await self._answer(unit_id, work_order_id, "closed", disposition_code=disposition)
