"""The officer app's sign-in: the phone's device id and token (the same credentials its
position reports carry) buy a short-lived ticket for notify's terminal socket
(kj_runtime.tickets), since a browser cannot put a token on a WebSocket itself."""

import time
from dataclasses import dataclass

from kj_devices.service_layer.locations import Locations, Refused
from kj_runtime.tickets import issue


@dataclass(frozen=True)
class Session:
    unit_id: str
    ticket: str
    expires_at: float
    ws_url: str | None


def sign_in(locations: Locations, device_id: str, token: str) -> Session:
    binding = locations.authenticate(device_id, token)
    settings = locations.settings
    if settings.ticket_secret is None:
        raise Refused(503, "tickets_off", "KJ_TERMINAL_TICKET_SECRET is not set")
    now = time.time()
    ticket = issue(
        settings.ticket_secret.get_secret_value(),
        binding.unit_id,
        now=now,
        ttl_s=settings.ticket_ttl_s,
    )
    return Session(binding.unit_id, ticket, now + settings.ticket_ttl_s, settings.notify_ws_url)
