"""The one answer to "is this error the infrastructure, not us?": the database or the broker
cannot serve the request now, and the same request may succeed later."""

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
    # Kafka
    kafka.KafkaConnectionError,
    kafka.KafkaTimeoutError,  # a request or a produced batch got no answer in time
    kafka.RequestTimedOutError,
    kafka.NodeNotReadyError,
    kafka.NoBrokersAvailable,
)
"""Catch these to answer 503 with Retry-After, to retry a batch, or to keep a loop alive with a
warning. Any other `asyncpg.PostgresError` is the database refusing what was asked (a
constraint, a missing table, bad data): a bug or bad input, not an outage; where a loop must
survive that too, catch `asyncpg.PostgresError` apart and log it as an error."""
