"""Short-lived WebSocket tickets: a browser cannot set an `Authorization` header on a
WebSocket, so the officer app signs in over HTTP at the device gateway (kj-devices) and
presents the ticket it gets to notify's terminal socket as a subprotocol
(`Sec-WebSocket-Protocol: kj-ticket.<ticket>`). A ticket names one unit and an expiry and is
signed with a secret both services hold (`KJ_TERMINAL_TICKET_SECRET`):

    <unit id>.<expiry, epoch seconds>.<HMAC-SHA256 hex of "unit.expiry">

Unit ids and the digits are subprotocol-safe characters (RFC 6455 token)."""

import hashlib
import hmac

PREFIX = "kj-ticket."


def issue(secret: str, unit_id: str, *, now: float, ttl_s: float) -> str:
    expiry = int(now + ttl_s)
    signed = f"{unit_id}.{expiry}"
    mac = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    return f"{signed}.{mac}"


def verify(secret: str, ticket: str, *, now: float) -> str | None:
    """The unit the ticket speaks for, or None (forged, malformed or expired)."""
    signed, _, mac = ticket.rpartition(".")
    unit_id, _, expiry = signed.rpartition(".")
    if not unit_id or not expiry.isdigit():
        return None
    expected = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected) or int(expiry) < now:
        return None
    return unit_id


def from_subprotocols(header: str | None) -> str | None:
    """The ticket in a `Sec-WebSocket-Protocol` header, if one is offered."""
    for offered in (header or "").split(","):
        offered = offered.strip()
        if offered.startswith(PREFIX):
            return offered.removeprefix(PREFIX)
    return None
