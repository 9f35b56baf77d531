"""The local stack as a user meets it: a client nobody here wrote sees the broker and topics,
starting what is already up changes nothing, and faust-streaming works against this broker."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

from kj_runtime.kafka import delete_topics
from kj_runtime.settings import REPO_ROOT, KafkaSettings
from kj_schemas.topics import CATALOGUE


def test_kcat_lists_the_broker_and_every_catalogue_topic(topics: KafkaSettings) -> None:
    kcat = shutil.which("kcat")
    assert kcat, "kcat is missing: `make install` installs it from Debian's packages"
    listing = subprocess.run(
        [kcat, "-b", topics.bootstrap, "-L", "-J", "-m", "10"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    metadata = json.loads(listing.stdout)
    assert [broker["name"] for broker in metadata["brokers"]] == [topics.bootstrap]
    names = {topic["topic"] for topic in metadata["topics"]}
    assert {spec.name for spec in CATALOGUE} <= names  # created by `make up`
    assert {topics.topic(spec.name) for spec in CATALOGUE} <= names


@pytest.mark.parametrize("script", ["infra/kafka/kafka.sh", "infra/postgres/postgres.sh"])
def test_starting_what_is_already_up_changes_nothing_and_says_so(
    script: str, topics: KafkaSettings
) -> None:
    started = subprocess.run(
        ["bash", str(REPO_ROOT / script), "start"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "already up" in started.stdout


FAUST_APP = textwrap.dedent(
    """
    import os, signal
    import faust

    broker, prefix, app_id = os.environ["BROKER"], os.environ["PREFIX"], os.environ["APP_ID"]
    count = int(os.environ["COUNT"])
    app = faust.App(
        app_id, broker=f"kafka://{broker}", store="memory://", web_enabled=False,
        topic_replication_factor=1, topic_partitions=1, consumer_auto_offset_reset="earliest",
    )
    source = app.topic(prefix + "source", value_serializer="raw", internal=True)
    sink = app.topic(prefix + "sink", value_serializer="raw", internal=True)
    seen = []

    @app.agent(source)
    async def relay(stream):
        async for value in stream:
            await sink.send(value=value.upper())

    @app.agent(sink)
    async def collect(stream):
        async for value in stream:
            seen.append(value)
            if len(seen) == count:
                with open(os.environ["RESULT"], "w") as result:
                    result.write(f"GOT {len(seen)} {sorted(seen)[0].decode()}")
                os.kill(os.getpid(), signal.SIGTERM)

    sent = []

    @app.timer(interval=1.0)
    async def produce():
        if not sent:
            sent.append(True)
            for i in range(count):
                await source.send(value=f"alarm-{i}".encode())

    app.main()
    """
)


@pytest.mark.slow
async def test_faust_streaming_agents_round_trip_through_this_broker(
    topics: KafkaSettings, tmp_path
) -> None:
    app_file = tmp_path / "faust_check.py"
    app_file.write_text(FAUST_APP)
    prefix = f"{topics.topic_prefix}faust-{uuid.uuid4().hex[:6]}."
    app_id = f"kj-test-{uuid.uuid4().hex[:6]}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(app_file),
        "worker",
        "-l",
        "warn",
        env={
            **os.environ,
            "BROKER": topics.bootstrap,
            "PREFIX": prefix,
            "APP_ID": app_id,
            "COUNT": "50",
            "RESULT": str(tmp_path / "result"),
        },
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        # what faust made: the app's topics and its assignor's (strays slow the broker)
        made = [prefix + "source", prefix + "sink", f"{app_id}-__assignor-__leader"]
        await delete_topics(topics, made)
    result = tmp_path / "result"
    assert result.exists(), output.decode(errors="replace")[-3000:]
    assert result.read_text() == "GOT 50 ALARM-0"
