"""Which failures heal by waiting and which never will, said once for every service.

A consumer retries a batch, with backoff, when the database or the broker is unreachable or
busy (the next try may work); a record that fails for a cause in its own content (bad data,
a constraint it breaks) fails the same way forever and goes to the dead letters instead of
blocking its partition (issue 14: one NUL character was retried 188 times in 15 minutes).
"""

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

# the database or the broker cannot be reached right now: wait and try again
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # connection refused, reset, no route
    TimeoutError,
    asyncpg.InterfaceError,  # the connection closed under the query
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # the server is starting or shutting down
    KafkaConnectionError,
    KafkaTimeoutError,
)

# SQLSTATE classes that say "not now" rather than "never": transaction rollback (serialization
# failure, deadlock), insufficient resources, operator intervention (admin shutdown, crash
# shutdown), system error, and lock not available.
_HEALING_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_HEALING_SQLSTATES = frozenset({"55P03"})


def may_heal(error: BaseException) -> bool:
    """True when the same work may succeed if tried again later unchanged."""
    if isinstance(error, UNREACHABLE):
        return True
    if isinstance(error, asyncpg.PostgresError):
        state = getattr(error, "sqlstate", None) or ""
        return state[:2] in _HEALING_SQLSTATE_CLASSES or state in _HEALING_SQLSTATES
    if isinstance(error, KafkaError):
        return bool(error.retriable)
    return False
