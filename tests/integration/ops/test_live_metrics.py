"""Each service, started from its console script against the real broker and database, exports
on /metrics every metric name the dashboards and alerts read of it (deploy/gen/metrics.py).
A service whose code has not landed yet is skipped, by name."""

import asyncio
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from deploy.gen import metrics
from deploy.gen.services import SERVICES, Service
from kj_runtime.settings import KafkaSettings, PostgresSettings
from kj_sim.services import free_port

pytestmark = pytest.mark.slow
MODULES = {
    "kj-alarm": "kj_alarm",
    "kj-patrol-tracking": "kj_tracking",
    "kj-dispatch": "kj_dispatch",
    "kj-notify": "kj_notify",
    "kj-devices": "kj_devices",
    "kj-console": "kj_console",
}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _has_entry_point(service: Service) -> bool:
    try:
        return importlib.util.find_spec(f"{MODULES[service.name]}.main") is not None
    except ModuleNotFoundError:
        return False


def exported_series(exposition: str) -> set[str]:
    """Sample names from `# TYPE` lines: a labelled metric with no sample yet still has one."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind == "counter":  # named with or without _total, by client version
                name = name.removesuffix("_total")
            names |= {f"{name}{suffix}" for suffix in SUFFIXES.get(kind, ("",))}
    return names


def test_exposition_parsing() -> None:
    text = (
        "# TYPE kj_a counter\n# TYPE kj_d_total counter\n"
        "# TYPE kj_b histogram\n# TYPE kj_c gauge\nkj_c 1.0\n"
    )
    assert exported_series(text) == {
        "kj_a_total",
        "kj_d_total",
        "kj_b_bucket",
        "kj_b_sum",
        "kj_b_count",
        "kj_c",
    }


# service -> {what /docs loads: HTTP status}, recorded while the service runs for its scrape
DOCS_ASSETS: dict[str, dict[str, int]] = {}
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


async def _docs_assets(client: httpx.AsyncClient) -> dict[str, int]:
    html = (await client.get("/docs")).text
    found = {}
    for ref in REFERENCE.findall(html):
        found[ref] = (await client.get(ref)).status_code if ref.startswith("/") else -1
    return found


async def _scrape(service: Service, kafka: KafkaSettings, pg: PostgresSettings) -> str:
    port = free_port()
    env = {
        **os.environ,
        "KJ_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "KJ_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "KJ_PG_HOST": pg.host,
        "KJ_PG_PORT": str(pg.port),
        "KJ_PG_USER": pg.user,
        "KJ_PG_DATABASE": pg.database,
        f"{service.env_prefix}HTTP_HOST": "127.0.0.1",
        f"{service.env_prefix}HTTP_PORT": str(port),
        # its other listening ports (the 808 gateway's TCP) on free ports too
        **{t.port_env: str(free_port()) for t in service.tcp},
    }
    if pg.password is not None:
        env["KJ_PG_PASSWORD"] = pg.password.get_secret_value()
    exe = shutil.which(service.name) or str(Path(sys.executable).parent / service.name)
    proc = await asyncio.create_subprocess_exec(
        exe, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            async with asyncio.timeout(60):
                while True:
                    if proc.returncode is not None:
                        pytest.fail(f"{service.name} exited with {proc.returncode}")
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
            answer = await client.get("/metrics")
            answer.raise_for_status()
            DOCS_ASSETS[service.name] = await _docs_assets(client)
            return answer.text
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(30):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.mark.parametrize(
    "service",
    [
        pytest.param(
            s,
            id=s.name,
            marks=pytest.mark.skipif(
                not _has_entry_point(s), reason=f"{s.name} has no entry point yet"
            ),
        )
        for s in SERVICES
    ],
)
async def test_live_scrape_has_every_metric_the_dashboards_read(
    service: Service, topics: KafkaSettings, database: PostgresSettings
) -> None:
    exported = exported_series(await _scrape(service, topics, database))
    missing = [
        m.name
        for m in metrics.METRICS
        if m.owner == service.name and not set(m.series()) <= exported
    ]
    assert not missing, f"{service.name} /metrics lacks {missing}: rename in deploy/gen/metrics.py"
    # /docs loads its script, style and icon from the service itself, never from a CDN
    assets = DOCS_ASSETS[service.name]
    assert len(assets) >= 3 and all(code == 200 for code in assets.values()), assets
