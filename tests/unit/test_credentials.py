"""Device and integration token hashes read from mounted Secret files: a province's 20,000
terminals fit (they fit neither one environment variable nor one Secret), and a broken file
stops the service with an error that names the file and the fault."""

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from deploy.gen.services import DEVICE_TOKENS
from kj_alarm.settings import AlarmSettings
from kj_notify.domain.tokens import TokenBook
from kj_notify.settings import NotifySettings
from kj_runtime.credentials import SHARD_BYTES, read_hash_table, split_hash_table

ENV_VALUE_MAX = 128 * 1024  # Linux: MAX_ARG_STRLEN, one variable
SECRET_MAX = 1024 * 1024  # Kubernetes: one Secret's data
PROVINCE_UNITS = 20_000


def _province() -> dict[str, str]:
    return {
        f"HN-{p:02d}-{u:05d}": hashlib.sha256(f"token-{p}-{u}".encode()).hexdigest()
        for p in range(14)
        for u in range(PROVINCE_UNITS // 14 + 1)
    }


def _project(directory: Path, files: dict[str, str]) -> Path:
    """What kubelet makes of a projected volume: a timestamped folder, a `..data` link to it,
    and one link per key."""
    stamp = directory / "..2026_11_30_10_00_00.000000001"
    stamp.mkdir(parents=True)
    for name, text in files.items():
        (stamp / name).write_text(text)
    os.symlink(stamp.name, directory / "..data")
    for name in files:
        os.symlink(f"..data/{name}", directory / name)
    return directory


def test_a_provinces_terminals_fit_in_the_projected_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _province()
    assert len(table) >= PROVINCE_UNITS
    assert len(json.dumps(table)) > ENV_VALUE_MAX  # why a variable cannot carry them
    shards = split_hash_table(table, max_bytes=SHARD_BYTES)
    assert 1 < len(shards) <= len(DEVICE_TOKENS)
    for shard in shards:  # a Secret's data travels base64-encoded
        assert len(base64.b64encode(shard.encode())) < SECRET_MAX
    mounted = _project(
        tmp_path / "devices",
        {f"{name}.json": text for name, text in zip(DEVICE_TOKENS, shards, strict=False)},
    )
    monkeypatch.setenv("KJ_NOTIFY_DEVICE_TOKEN_SHA256_FILE", str(mounted))
    settings = NotifySettings()
    assert settings.device_token_sha256 == table
    book = TokenBook(settings.device_token_sha256)
    assert book.speaks_for("HN-13-01000", "token-13-1000")
    assert not book.speaks_for("HN-13-01000", "token-13-1001")


def test_integrations_are_read_from_their_file_by_alarm_and_notify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = hashlib.sha256(b"sy110-secret").hexdigest()
    mounted = _project(tmp_path / "integrations", {"tokens.json": json.dumps({"sy110": digest})})
    monkeypatch.setenv("KJ_ALARM_INTEGRATIONS_FILE", str(mounted))
    monkeypatch.setenv("KJ_NOTIFY_INTEGRATION_TOKEN_SHA256_FILE", str(mounted))
    assert AlarmSettings().integrations == {"sy110": digest}  # the dev token is gone
    assert NotifySettings().integration_token_sha256 == {"sy110": digest}


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({}, "holds no file"),
        ({"a.json": '{"u1": "' + "0" * 64 + '",}'}, "a.json: not JSON (line 1 column"),
        ({"a.json": '["u1"]'}, "a.json: give a JSON object"),
        ({"a.json": '{"u1": "abc"}'}, "a.json: u1: give the sha256 hex"),
        ({"a.json": '{"u1": "' + "z" * 64 + '"}'}, "a.json: u1: zzzzzzzz… is not hexadecimal"),
        (
            {"a.json": '{"u1": "' + "0" * 64 + '"}', "b.json": '{"u1": "' + "1" * 64 + '"}'},
            "b.json: u1 is also in",
        ),
    ],
)
def test_a_broken_credential_file_is_named_with_its_fault(
    tmp_path: Path, files: dict[str, str], says: str
) -> None:
    directory = tmp_path / "devices"
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    with pytest.raises(ValueError, match=None) as error:
        read_hash_table(directory)
    assert says in str(error.value)


def test_a_missing_file_stops_the_service_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("KJ_NOTIFY_DEVICE_TOKEN_SHA256_FILE", str(missing))
    with pytest.raises(ValidationError, match=f"{missing}: no such file or directory"):
        NotifySettings()


def test_a_table_given_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "t.json"
    file.write_text(json.dumps({"u1": "0" * 64}))
    monkeypatch.setenv("KJ_NOTIFY_DEVICE_TOKEN_SHA256_FILE", str(file))
    monkeypatch.setenv("KJ_NOTIFY_DEVICE_TOKEN_SHA256", json.dumps({"u2": "1" * 64}))
    with pytest.raises(ValidationError, match="not both"):
        NotifySettings()
