"""The demo's Prometheus starts with deploy/prometheus's config and rules, loads every alert,
and accepts every query of both dashboards (the PromQL parses and runs)."""

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from deploy.gen.dashboards import queries
from deploy.snapshot import grafana_to_promql
from kj_sim.services import free_port

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: run `bash deploy/install-tools.sh`")
    port = free_port()
    data = tmp_path_factory.mktemp("prometheus")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={REPO / 'deploy/prometheus/demo.yml'}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client, asyncio.timeout(30):
        while True:
            try:
                if (await client.get("/-/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def test_every_alert_is_loaded_and_every_panel_query_runs(prometheus: str) -> None:
    await _ready(prometheus)
    rules = yaml.safe_load((REPO / "deploy/prometheus/rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    async with httpx.AsyncClient(base_url=prometheus, timeout=10) as client:
        loaded = (await client.get("/api/v1/rules", params={"type": "alert"})).json()
        names = {r["name"] for g in loaded["data"]["groups"] for r in g["rules"]}
        assert names == alerts
        failures = []
        for path in sorted((REPO / "deploy/grafana").glob("*.json")):
            for title, expr in queries(json.loads(path.read_text(encoding="utf-8"))):
                answer = await client.get(
                    "/api/v1/query", params={"query": grafana_to_promql(expr)}
                )
                if answer.status_code != 200 or answer.json()["status"] != "success":
                    failures.append((path.name, title, answer.text[:200]))
        assert not failures
