"""A faust-streaming agent that only decodes the benchmark's pings, for the decision record
(bench_tracking runs it as `python -m bench.faust_tracking_agent worker -l warn`).
The topic already exists: declared internal=True so faust uses it instead of waiting for it."""

import os
import signal
import time
from pathlib import Path

import faust

from kj_tracking.adapters.ping_codec import decode_wire

broker, topic_name = os.environ["BROKER"], os.environ["TOPIC"]
limit, result = int(os.environ["LIMIT"]), os.environ["RESULT"]
app = faust.App(
    os.environ["APP_ID"],
    broker=f"kafka://{broker}",
    store="memory://",
    web_enabled=False,
    topic_replication_factor=1,
    topic_partitions=int(os.environ["PARTITIONS"]),
    consumer_auto_offset_reset="earliest",
    stream_wait_empty=False,
    broker_max_poll_records=5000,
)
pings = app.topic(topic_name, value_serializer="raw", internal=True)
state = {"n": 0, "first": 0.0}


@app.agent(pings)
async def decode(stream: faust.StreamT[bytes]) -> None:
    async for values in stream.take(5000, within=0.1):
        if state["n"] == 0:
            state["first"] = time.perf_counter()
        for value in values:
            decode_wire(value)
        state["n"] += len(values)
        if state["n"] >= limit:
            elapsed = time.perf_counter() - state["first"]
            Path(result).write_text(f"{state['n']} {elapsed}", encoding="utf-8")  # noqa: ASYNC240
            os.kill(os.getpid(), signal.SIGTERM)
            return


if __name__ == "__main__":
    app.main()
