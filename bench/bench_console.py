"""The console with a province's worth of moving units (issue 17): 2,000 units each moving once
a second, one Chromium connected and signed in, the whole city on its map, for one minute.

- `console.bytes_per_s`: what the console sent that browser over its WebSocket a second (the
  JSON payload, the console's own `kj_console_sent_bytes_total`; the socket's per-message
  compression makes the wire smaller still);
- `console.update_main_thread_p99_ms` (and `_p50_ms`): the browser's main-thread time to take
  one message (`performance.measure` around each socket message's handling, read from
  Chromium's performance timeline through Playwright); `console.draw_*` is the units layer's
  share of the next animation frame on that thread (placing the units; a worker paints them,
  decision 0106);
- `console.long_tasks_over_50ms`: tasks of the page's main thread over 50 ms in the minute
  (PerformanceObserver `longtask`), with `console.longest_task_ms`. Target: none. Where the long
  animation frames went (`console.long_frames_*`: the page's scripts, rendering, the rest) and
  the frames themselves (`.local/bench/console-long-frames.json`); a task with no script in it
  (the browser's own rendering work) shows only in a trace;
- the 1-minute load average at the start and end of the minute: on a shared machine the same
  page measures very differently at a load of 2 and of 20.

The units' states go straight to `units.state` (as patrol tracking publishes them): every unit
moving at 1 Hz is more than tracking would send (it publishes a unit on a 50 m move). The
console runs as its own process; the publisher and the browser share the machine's two cores
with it. Debian's Chromium (`/usr/bin/chromium`), a fresh profile, never a downloaded browser.

    uv run python -m bench.bench_console
"""

import asyncio
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from playwright.async_api import async_playwright

from bench.proc import cpu_seconds
from bench.record import record
from kj_console.domain.roles import Role
from kj_console.service_layer.auth import add_user
from kj_runtime.city_store import store_city
from kj_runtime.db import create_pool
from kj_runtime.kafka import create_topics, delete_topics, make_producer, wait_for_kafka
from kj_runtime.migrations import apply_migrations
from kj_runtime.settings import REPO_ROOT, KafkaSettings, PostgresSettings, state_dir
from kj_schemas.city import load_city
from kj_schemas.topics import UNITS_STATE
from kj_sim.services import free_port

UNITS = int(os.environ.get("BENCH_CONSOLE_UNITS", "2000"))
MEASURE_S = float(os.environ.get("BENCH_CONSOLE_SECONDS", "60"))
WARMUP_S = 10.0
PASSWORD = "bench password 2000"  # noqa: S105 - a throwaway user of a throwaway database
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


@dataclass
class Moving:
    unit_id: str
    platform: str
    lat: float
    lon: float
    heading: float


class Fleet:
    """2,000 units on the city's platforms, each moving about 10 m a second."""

    def __init__(self, count: int) -> None:
        city = load_city(REPO_ROOT / "cities" / "shaoyang")
        rng = random.Random(17)  # noqa: S311 - positions, not secrets
        self.units = [
            Moving(
                f"BENCH-{i:05d}",
                city.platforms[i % len(city.platforms)].id,
                city.platforms[i % len(city.platforms)].lat + rng.uniform(-0.01, 0.01),
                city.platforms[i % len(city.platforms)].lon + rng.uniform(-0.01, 0.01),
                rng.uniform(0, 360),
            )
            for i in range(count)
        ]

    def states(self, at: datetime) -> list[tuple[bytes, bytes]]:
        stamp = at.isoformat()
        out = []
        for u in self.units:
            u.heading = (u.heading + random.uniform(-20, 20)) % 360  # noqa: S311
            rad = math.radians(u.heading)
            u.lat += 10 * math.cos(rad) / 110_574
            u.lon += 10 * math.sin(rad) / 98_000
            value = {
                "schema_version": 1,
                "message_id": str(uuid.uuid4()),
                "unit_id": u.unit_id,
                "platform_id": u.platform,
                "kind": "motorcycle",
                "status": "available",
                "lat": round(u.lat, 6),
                "lon": round(u.lon, 6),
                "speed_kmh": 36.0,
                "heading_deg": round(u.heading, 1),
                "fix_at": stamp,
                "last_seen_at": stamp,
            }
            out.append((u.unit_id.encode(), orjson.dumps(value)))
        return out


async def publish(kafka: KafkaSettings, fleet: Fleet, stop: asyncio.Event) -> int:
    producer = make_producer(kafka, linger_ms=20, acks=1, enable_idempotence=False)
    await producer.start()
    topic = kafka.topic(UNITS_STATE.name)
    sent = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            futures = [
                await producer.send(topic, value, key=key)
                for key, value in fleet.states(datetime.now(UTC))
            ]
            await asyncio.gather(*futures)
            sent += len(futures)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    finally:
        await producer.stop()
    return sent


def sent_bytes(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("kj_console_sent_bytes_total "):
            return float(line.split()[1])
    return 0.0


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kj_console.main"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


OBSERVE = """() => {
    window.__longTasks = [];
    window.__longFrames = [];
    new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
    // what each long frame was spent on (Chromium's Long Animation Frames): the scripts that ran
    // in it, and the rendering (style, layout, paint) after them
    new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
            if (e.duration <= 50) continue;
            const end = e.startTime + e.duration;
            window.__longFrames.push({
                duration: e.duration,
                blocking: e.blockingDuration,
                render: e.renderStart ? end - e.renderStart : 0,
                styleLayout: e.styleAndLayoutStart ? end - e.styleAndLayoutStart : 0,
                scripts: e.scripts.map((s) => ({
                    what: `${s.invokerType} ${s.invoker} ${s.sourceFunctionName || ''}`.trim(),
                    where: `${(s.sourceURL || '').split('/').pop()}:${s.sourceCharPosition}`,
                    duration: s.duration,
                    forcedLayout: s.forcedStyleAndLayoutDuration,
                })),
            });
        }
    }).observe({ type: 'long-animation-frame' });
    performance.clearMeasures();
}"""
COLLECT = """() => ({
    updates: performance.getEntriesByType('measure')
        .filter((m) => m.name.startsWith('kj-update')).map((m) => [m.name, m.duration]),
    draws: performance.getEntriesByType('measure')
        .filter((m) => m.name === 'kj-draw').map((m) => m.duration),
    longTasks: window.__longTasks,
    longFrames: window.__longFrames,
    units: window.kjConsole.store.units.size,
})"""


def long_frame_breakdown(frames: list[dict[str, Any]]) -> dict[str, float | int]:
    """Where the long frames' time went: the page's scripts (by what invoked them), the
    rendering after them (style, layout, paint), and the rest (the browser's own work, or the
    main thread waiting for a core on a loaded machine)."""
    scripts = sum(s["duration"] for f in frames for s in f["scripts"])
    render = sum(f["render"] for f in frames)
    total = sum(f["duration"] for f in frames)
    by_what: dict[str, float] = {}
    for f in frames:
        for s in f["scripts"]:
            by_what[s["what"]] = by_what.get(s["what"], 0.0) + s["duration"]
    for what, ms in sorted(by_what.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  long frames' scripts: {ms:8.1f} ms  {what}")
    return {
        "console.long_frames_over_50ms": len(frames),
        "console.long_frames_script_ms": round(scripts, 1),
        "console.long_frames_render_ms": round(render, 1),
        "console.long_frames_other_ms": round(max(0.0, total - scripts - render), 1),
    }


async def measure(kafka: KafkaSettings, pg: PostgresSettings) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "KJ_PG_DATABASE": pg.database,
        "KJ_CONSOLE_HTTP_PORT": str(port),
        "KJ_CONSOLE_SESSION_SECRET": uuid.uuid4().hex,
        "KJ_CONSOLE_LOG_LEVEL": "warning",
        "KJ_CONSOLE_LOG_JSON": "true",
    }
    log = state_dir() / "bench" / "console.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = spawn(env, log)
    stop = asyncio.Event()
    publisher = asyncio.create_task(publish(kafka, Fleet(UNITS), stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=3) as client:
            async with asyncio.timeout(90):
                while True:
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.3)
            async with async_playwright() as pw, asyncio.timeout(MEASURE_S + 180):
                with tempfile.TemporaryDirectory(prefix="kj-bench-chromium-") as profile:
                    context = await pw.chromium.launch_persistent_context(
                        user_data_dir=profile,
                        executable_path="/usr/bin/chromium",
                        headless=True,
                        args=FLAGS,
                        viewport={"width": 1600, "height": 900},
                    )
                    page = await context.new_page()
                    await page.goto(base)
                    await page.fill("input[name=username]", "bench")
                    await page.fill("input[name=password]", PASSWORD)
                    await page.click("button[type=submit]")
                    await page.wait_for_selector(".topbar .conn.live", timeout=30_000)
                    await page.evaluate(
                        "() => { window.kjConsole.map.setView([27.24, 111.47], 12); }"
                    )
                    await asyncio.sleep(WARMUP_S)
                    await page.evaluate(OBSERVE)
                    before = sent_bytes((await client.get("/metrics")).text)
                    cpu_before, started = cpu_seconds(process.pid), time.monotonic()
                    load_at_start = round(os.getloadavg()[0], 2)
                    await asyncio.sleep(MEASURE_S)
                    seen = await page.evaluate(COLLECT)
                    elapsed = time.monotonic() - started
                    after = sent_bytes((await client.get("/metrics")).text)
                    cpu = cpu_seconds(process.pid) - cpu_before
                    shot = state_dir() / "bench" / "console-2000-units.png"
                    await page.screenshot(path=str(shot))
                    await context.close()
    finally:
        stop.set()
        sent = await publisher
        process.terminate()
        process.wait(timeout=20)
    frames = seen["longFrames"]
    (state_dir() / "bench" / "console-long-frames.json").write_bytes(
        orjson.dumps(frames, option=orjson.OPT_INDENT_2)
    )
    positions = [d for name, d in seen["updates"] if name == "kj-update:pos"]
    every = [d for _, d in seen["updates"]]
    long_tasks = seen["longTasks"]
    return {
        "console.units": UNITS,
        "console.units_on_the_page": seen["units"],
        "console.seconds": round(elapsed, 1),
        "console.bytes_per_s": round((after - before) / elapsed),
        "console.position_diffs_per_s": round(len(positions) / elapsed, 2),
        "console.update_main_thread_p50_ms": round(percentile(every, 0.5), 2),
        "console.update_main_thread_p99_ms": round(percentile(every, 0.99), 2),
        "console.position_diff_main_thread_p99_ms": round(percentile(positions, 0.99), 2),
        "console.draw_p50_ms": round(percentile(seen["draws"], 0.5), 2),
        "console.draw_p99_ms": round(percentile(seen["draws"], 0.99), 2),
        "console.long_tasks_over_50ms": sum(1 for d in long_tasks if d > 50),
        "console.longest_task_ms": round(max(long_tasks, default=0.0), 1),
        **long_frame_breakdown(frames),
        "console.cpu_s_per_s": round(cpu / elapsed, 3),
        "console.states_published": sent,
        "console.loadavg_1m_at_start": load_at_start,
        "console.loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }


async def main() -> None:
    run_id = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench-{run_id}.")
    pg = PostgresSettings(database=f"kj_bench_console_{run_id}")
    await wait_for_kafka(kafka, deadline_s=30)
    admin = await asyncpg.connect(pg.model_copy(update={"database": "postgres"}).dsn())
    await admin.execute(f'create database "{pg.database}"')
    created: list[str] = []
    try:
        apply_migrations(pg)
        await store_city(pg, REPO_ROOT / "cities" / "shaoyang")
        pool = await create_pool(pg, min_size=1, max_size=1)
        await add_user(
            pool, username="bench", display_name="bench", role=Role.viewer, password=PASSWORD
        )
        await pool.close()
        created, _ = await create_topics(kafka)
        figures = await measure(kafka, pg)
    finally:
        await admin.execute(f'drop database if exists "{pg.database}" with (force)')
        await admin.close()
        await delete_topics(kafka, created)
    record(figures)
    for name, value in figures.items():
        print(f"{name:45} {value}")


if __name__ == "__main__":
    asyncio.run(main())
