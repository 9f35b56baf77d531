"""The officer app's way onto the terminal socket: a browser cannot set `Authorization` on a
WebSocket, so it offers a short-lived ticket from the device gateway as a subprotocol
(kj_runtime.tickets); the socket is accepted with that subprotocol echoed back."""

import time
from typing import Any

from fastapi import WebSocket

from kj_runtime.tickets import PREFIX, from_subprotocols, verify


def ticket_subprotocol(gateway: Any, websocket: WebSocket, unit_id: str) -> str | None:
    """The subprotocol to accept with when the socket offers a valid ticket for `unit_id`."""
    ticket = from_subprotocols(websocket.headers.get("sec-websocket-protocol"))
    settings = getattr(gateway, "settings", None)
    secret = getattr(settings, "ticket_secret", None)
    if ticket is None or secret is None:
        return None
    if verify(secret.get_secret_value(), ticket, now=time.time()) != unit_id:
        return None
    return PREFIX + ticket
