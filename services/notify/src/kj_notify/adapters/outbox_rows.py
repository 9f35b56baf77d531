"""Many outbox rows in one statement. kj_runtime's Outbox.put writes one row and one NOTIFY
per message (two round trips each); a receipt batch has hundreds. Same table, same columns,
same wake-up for the relay, so the runtime's relay publishes them in order as usual."""

from collections.abc import Sequence

import asyncpg
from pydantic import BaseModel

from kj_runtime.outbox import Outbox
from kj_schemas.codec import encode


async def put_all(
    connection: asyncpg.Connection,
    outbox: Outbox,
    topic: str,
    messages: Sequence[tuple[str, BaseModel]],
) -> None:
    """Write (key, message) pairs for `topic` in the caller's transaction, in order."""
    if not messages:
        return
    await connection.execute(
        "with written as (insert into outbox (stream, topic, key, value) "
        "select $1, $2, m.key, m.value from unnest($3::bytea[], $4::bytea[]) "
        "with ordinality as m(key, value, n) order by m.n returning 1) "
        "select pg_notify($5, '') from (select 1 from written limit 1) as any_written",
        outbox.stream,
        outbox.topic_prefix + topic,
        [key.encode() for key, _ in messages],
        [encode(message) for _, message in messages],
        outbox.channel,
    )
