"""`kj-infra deadletters list | replay` against the real broker, on dead letters the runtime's
consume loop wrote: the list shows each with its place and cause; a whole record is sent back
to its source topic, byte for byte with its key, only with --yes; a truncated one is refused
and nothing is sent."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from kj_runtime.db import create_pool
from kj_runtime.deadletter_replay import REPLAY_HEADER
from kj_runtime.host import hosted
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_schemas.codec import decode, encode
from kj_schemas.deadletter import DeadLetter
from kj_schemas.topics import DEADLETTERS, WORKORDERS_EVENTS
from kj_schemas.workorders import WorkOrderEvent
from tests.stack import read_to_end
from tests.unit.runtime.messages import event

from .consuming import produce, service_with, until


@dataclass(frozen=True)
class Letter:
    at: str  # partition:offset on deadletters
    letter: DeadLetter


@dataclass(frozen=True)
class Refused:
    """Two records the consume loop dead-lettered: one whole (PostgreSQL refused its NUL), one
    of 1 MB that its letter holds only the start of."""

    whole: Letter
    truncated: Letter
    whole_key: bytes
    whole_value: bytes


@pytest.fixture(scope="module")
async def refused(topics: KafkaSettings, database: PostgresSettings) -> Refused:
    run = uuid.uuid4().hex[:6]
    poison, later = f"NUL-{run}", f"OK-{run}"
    handled: list[str] = []
    pool = await create_pool(database)

    async def handle(events: Sequence[WorkOrderEvent]) -> None:
        async with pool.acquire() as connection:
            for e in events:
                text = "a\x00b" if e.unit_id == poison else e.unit_id
                await connection.execute("select $1::text", text)  # a data error: no retry
        handled.extend(e.unit_id for e in events)

    poisoned = encode(event(poison))
    huge = b'{"unit_id": "BIG-' + run.encode() + b'", "pad": "' + b"x" * 1_000_000 + b'"}'
    try:
        await produce(
            topics, (poison, poisoned), (f"BIG-{run}", huge), (later, encode(event(later)))
        )
        async with hosted(service_with(topics, handle, f"g-{run}"), http=False):
            await until(lambda: later in handled)
    finally:
        await pool.close()
    letters = [
        Letter(f"{r.partition}:{r.offset}", decode(DeadLetter, r.value))
        for r in await read_to_end(topics, topics.topic(DEADLETTERS.name))
    ]
    (whole,) = [x for x in letters if x.letter.key == poison]
    (truncated,) = [x for x in letters if x.letter.key == f"BIG-{run}"]
    return Refused(whole, truncated, poison.encode(), poisoned)


def kj_infra(topics: KafkaSettings, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, against this test's topics."""
    env = {
        **os.environ,
        "KJ_KAFKA_BOOTSTRAP_SERVERS": topics.bootstrap,
        "KJ_KAFKA_TOPIC_PREFIX": topics.topic_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "kj_runtime.infra_cli", "deadletters", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def source_records(topics: KafkaSettings) -> list[object]:
    return await read_to_end(topics, topics.topic(WORKORDERS_EVENTS.name))


async def test_list_shows_each_dead_letter_with_its_place_key_and_cause(
    refused: Refused, topics: KafkaSettings
) -> None:
    listed = await asyncio.to_thread(
        kj_infra, topics, "list", "--source-topic", WORKORDERS_EVENTS.name, "--since", "1h"
    )
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    for letter, says in (
        (refused.whole, "whole, can be replayed"),
        (refused.truncated, "truncated"),
    ):
        (head,) = [
            n for n, line in enumerate(lines) if line.startswith(f"deadletters {letter.at} ")
        ]
        place = f"{letter.letter.source_topic} {letter.letter.partition}:{letter.letter.offset}"
        assert place in lines[head] and says in lines[head], lines[head]
        assert repr(letter.letter.key) in lines[head] and letter.letter.reason in lines[head]
        cause = " ".join(letter.letter.detail.split())  # on one line
        assert lines[head + 1].strip().startswith(cause[:200]), lines[head + 1]
    assert "CharacterNotInRepertoire" in listed.stdout  # the cause, as PostgreSQL gave it

    other = await asyncio.to_thread(kj_infra, topics, "list", "--source-topic", "alarms.intake")
    assert f"deadletters {refused.whole.at} " not in other.stdout


async def test_a_whole_record_is_sent_back_to_its_topic_only_with_yes(
    refused: Refused, topics: KafkaSettings
) -> None:
    before = len(await source_records(topics))
    dry = await asyncio.to_thread(kj_infra, topics, "replay", "--at", refused.whole.at)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dry run: 1 would be sent" in dry.stdout
    assert len(await source_records(topics)) == before  # nothing was sent

    sent = await asyncio.to_thread(kj_infra, topics, "replay", "--at", refused.whole.at, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "1 sent, 0 refused" in sent.stdout
    records = await source_records(topics)
    assert len(records) == before + 1
    (again,) = [r for r in records if any(h[0] == REPLAY_HEADER for h in r.headers)]
    assert (again.key, again.value) == (refused.whole_key, refused.whole_value)
    origin = dict(again.headers)[REPLAY_HEADER].decode()
    assert origin.startswith(f"deadletters {refused.whole.at}: "), origin


async def test_a_truncated_dead_letter_is_refused_and_nothing_is_sent(
    refused: Refused, topics: KafkaSettings
) -> None:
    before = len(await source_records(topics))
    answer = await asyncio.to_thread(
        kj_infra, topics, "replay", "--at", refused.truncated.at, "--yes"
    )
    assert answer.returncode == 1
    letter = refused.truncated.letter
    assert f"refused  deadletters {refused.truncated.at}: truncated" in answer.stdout
    assert f"{letter.value_bytes:,}-byte record" in answer.stdout
    assert f"{letter.source_topic} partition {letter.partition} offset {letter.offset}" in (
        answer.stdout
    )
    assert "0 sent, 1 refused" in answer.stdout
    assert len(await source_records(topics)) == before


async def test_replay_names_what_to_send(topics: KafkaSettings) -> None:
    answer = await asyncio.to_thread(kj_infra, topics, "replay", "--yes")
    assert answer.returncode == 2
    assert "name what to replay" in answer.stderr
