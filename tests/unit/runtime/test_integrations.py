"""The registry's in-memory half (no database): who a token speaks for, and the rate limit."""

import asyncio
import hashlib
import time
from dataclasses import replace

from kj_runtime.admin_cli import duration
from kj_runtime.integrations import LIMITED, IntegrationRegistry, IntegrationSettings, _Token
from kj_runtime.rate_limit import TokenBucket, retry_after


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def registry(**static: str) -> IntegrationRegistry:
    return IntegrationRegistry(
        None,
        IntegrationSettings(rate_per_s=2, burst=3),
        service="test",
        static={name: sha(token) for name, token in static.items()},
    )


def test_a_token_speaks_for_its_integration_and_no_other() -> None:
    held = registry(sy110="token-a", hn110="token-b")
    assert held.holder("token-a").name == "sy110"  # type: ignore[union-attr]
    assert held.holder("token-b").name == "hn110"  # type: ignore[union-attr]
    assert held.holder("token-c") is None
    assert held.holder("token-a", name="hn110") is None
    assert "sy110" in held and "nobody" not in held
    assert asyncio.run(held.authenticate(None)) is None


def test_an_expired_token_is_refused_before_the_next_read() -> None:
    held = registry(sy110="token-a")
    entry = held._snapshot.tokens[0]
    held._snapshot.tokens = [replace(entry, expires_at=time.time() - 1)]
    assert held.holder("token-a") is None
    held._snapshot.tokens = [replace(entry, expires_at=time.time() + 60)]
    assert held.holder("token-a") is not None


def test_several_tokens_of_one_integration_work_at_once() -> None:
    held = registry(sy110="token-a")
    entry = held._snapshot.tokens[0]
    second = _Token("tok_2", hashlib.sha256(b"token-b").digest(), entry.integration, None)
    held._snapshot.tokens.append(second)
    assert held.holder("token-a") == held.holder("token-b") == entry.integration


def test_an_integration_over_its_rate_waits_and_is_counted() -> None:
    held = registry(sy110="token-a", hn110="token-b")
    sy110, hn110 = held.holder("token-a"), held.holder("token-b")
    assert sy110 is not None and hn110 is not None
    before = LIMITED.labels("test", "sy110")._value.get()
    assert [held.admit(sy110) for _ in range(3)] == [None, None, None]  # the burst
    wait = held.admit(sy110)
    assert wait is not None and 0 < wait <= 0.5
    assert LIMITED.labels("test", "sy110")._value.get() == before + 1
    assert held.admit(hn110) is None  # another integration's budget is its own


def test_a_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=10, burst=2)
    assert bucket.take(0.0) is None and bucket.take(0.0) is None
    assert bucket.take(0.0) == 0.1
    assert bucket.take(0.05) is not None
    assert bucket.take(0.2) is None
    assert retry_after(0.01) == 1 and retry_after(2.5) == 3


def test_durations_read_as_operators_write_them() -> None:
    assert duration("90m").total_seconds() == 5400
    assert duration("24h").days == 1 and duration("365d").days == 365


def test_the_registry_settings_read_their_prefix(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KJ_INTEGRATIONS_RATE_PER_S", "50")
    assert IntegrationSettings().rate_per_s == 50
