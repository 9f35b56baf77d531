"""schemathesis against the device gateway's HTTP API as the host serves it (a phone's OsmAnd
query and JSON batch, the officer app's sign-in and settings), with the boundary values of issue
14 among the requests and, in a share of them, the id and token of a phone that is bound: no
5xx, and no answer that breaks the published schema."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from kj_devices.domain.binding import Protocol
from tests.integration.fuzz import assert_no_5xx_with_boundaries, fuzz

from .conftest import Bind, Gateway

pytestmark = pytest.mark.slow


async def test_schemathesis_finds_no_5xx_and_no_schema_breaking_answer(
    gateway: Gateway, bind: Bind, tmp_path: Path
) -> None:
    gateway.core.settings.ticket_secret = SecretStr("ticket-secret-for-the-fuzzing-0123456789")
    added = await bind("phone-fuzz-1", "SY-P04-C1", protocol=Protocol.http)
    run = await fuzz(
        gateway.http_url,
        headers={"/v1/locations": {"Authorization": f"Bearer {added.secret}"}},
        known={
            "id": [added.device_id],
            "device_id": [added.device_id],
            "key": [added.secret],
            "token": [added.secret],
        },
        operations=4,
        cwd=tmp_path,
    )
    print(run.summary())
    assert_no_5xx_with_boundaries(run)
