"""WebSocket tickets: one unit, a short life, a signature only the platform can make."""

from kj_runtime.tickets import from_subprotocols, issue, verify

SECRET = "s" * 32


def test_a_ticket_speaks_for_its_unit_until_it_expires():
    ticket = issue(SECRET, "SY-P01-C1", now=1000.0, ttl_s=120)
    assert verify(SECRET, ticket, now=1100.0) == "SY-P01-C1"
    assert verify(SECRET, ticket, now=1121.0) is None


def test_a_forged_or_altered_ticket_speaks_for_no_one():
    ticket = issue(SECRET, "SY-P01-C1", now=1000.0, ttl_s=120)
    assert verify("another-secret", ticket, now=1000.0) is None
    assert verify(SECRET, ticket.replace("SY-P01-C1", "SY-P01-C2"), now=1000.0) is None
    assert verify(SECRET, "garbage", now=1000.0) is None


def test_the_ticket_travels_as_a_subprotocol():
    ticket = issue(SECRET, "SY-P01-C1", now=1000.0, ttl_s=120)
    assert from_subprotocols(f"kj.v1, kj-ticket.{ticket}") == ticket
    assert from_subprotocols("kj.v1") is None and from_subprotocols(None) is None
