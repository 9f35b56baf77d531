"""schemathesis against the OpenAPI document the live service serves: no 5xx, and no answer
that breaks the published schema (status code, content type, headers, body)."""

import asyncio
import re
import shutil
import sys
from pathlib import Path

import pytest

from kj_runtime.settings import KafkaSettings, PostgresSettings

from .conftest import AUTH
from .server import served

pytestmark = pytest.mark.slow

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)


async def test_schemathesis_finds_no_5xx_and_no_schema_breaking_answer(
    database: PostgresSettings, topics: KafkaSettings, tmp_path: Path
) -> None:
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    async with served(database, topics) as server:
        process = await asyncio.create_subprocess_exec(
            cli,
            "run",
            f"{server.url}/openapi.json",
            "--max-examples",
            "100",
            "--checks",
            CHECKS,
            "--header",
            f"Authorization:{AUTH['Authorization']}",
            "--seed",
            "20261123",
            "--request-timeout",
            "10",
            cwd=tmp_path,  # its example cache stays out of the checkout
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(240):
            output, _ = await process.communicate()
    text = output.decode(errors="replace")
    generated = re.search(r"(\d+) generated", text)
    assert generated and int(generated.group(1)) >= 500, text[-3000:]
    assert process.returncode == 0, text[-6000:]
