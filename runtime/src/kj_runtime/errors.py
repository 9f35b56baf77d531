"""The one answer to "is this error the infrastructure, not us?", said once for every service:
the database or the broker cannot serve the request now, and the same request may succeed later.

Catch `UNAVAILABLE` to answer 503 with Retry-After, to retry a batch, or to keep a loop alive with
a warning. Any other `asyncpg.PostgresError` is the database refusing what was asked (a
constraint, a missing table, bad data): a bug or bad input, not an outage. A consumer retries a
batch, with backoff, only for what `may_heal`; a record that fails for a cause in its own content
fails the same way forever and goes to the dead letters instead of blocking its partition (issue
14: one NUL character was retried 188 times in 15 minutes)."""

import asyncpg
from aiokafka import errors as kafka

UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # connection refused or reset; TimeoutError is one too
    # PostgreSQL
    asyncpg.InterfaceError,  # the connection was lost mid-query, or the pool is closing
    asyncpg.PostgresConnectionError,  # 08xxx
    asyncpg.OperatorInterventionError,  # 57xxx: shutting down, cannot connect now, cancelled
    asyncpg.InsufficientResourcesError,  # 53xxx: too many connections, disk full
    asyncpg.TransactionRollbackError,  # 40xxx: deadlock or serialization failure
    asyncpg.LockNotAvailableError,  # 55P03: a lock timeout
    # Kafka
    kafka.KafkaConnectionError,
    kafka.KafkaTimeoutError,  # a request or a produced batch got no answer in time
    kafka.RequestTimedOutError,
    kafka.NodeNotReadyError,
    kafka.NoBrokersAvailable,
)


def may_heal(error: BaseException) -> bool:
    """True when the same work may succeed if tried again later unchanged."""
    if isinstance(error, UNAVAILABLE):
        return True
    if isinstance(error, asyncpg.PostgresError):
        return (getattr(error, "sqlstate", None) or "")[:2] in {"08", "40", "53", "57", "58"}
    if isinstance(error, kafka.KafkaError):
        return bool(error.retriable)
    return False
