"""Only `kj_runtime.outbox` names the outbox table (issue 13): a writer that puts its rows and its
messages in one statement takes the outbox's part from `kj_runtime.outbox.rows_sql`, so the
table's shape and the relay's assumptions about it live in one module."""

import re
from pathlib import Path

import pytest

from kj_runtime.outbox import rows_sql
from kj_runtime.settings import REPO_ROOT

OWNER = REPO_ROOT / "runtime/src/kj_runtime/outbox.py"
CODE = ("services", "runtime", "sim", "bench", "deploy")
NAMES_THE_TABLE = re.compile(r"\b(into|from|update|join|truncate)\s+outbox\b", re.IGNORECASE)


def sources() -> list[Path]:
    return [
        path
        for top in CODE
        for path in sorted((REPO_ROOT / top).rglob("*.py"))
        if ".venv" not in path.parts and "/tests/" not in path.as_posix()
    ]


def test_no_code_outside_the_outbox_module_names_the_outbox_table() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in sources()
        if path != OWNER
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMES_THE_TABLE.search(line)
    ]
    assert found == []


def test_the_scan_sees_the_code_it_guards() -> None:
    scanned = sources()
    assert OWNER in scanned
    assert NAMES_THE_TABLE.search(OWNER.read_text(encoding="utf-8"))  # the owner names it
    assert any(p.name == "alarm_store.py" for p in scanned)  # the one-statement writer


def test_the_shared_part_keeps_the_messages_in_the_arrays_order() -> None:
    sql = rows_sql("$3", "$4", "$5", "$6")
    assert "select $3, topic, key, value" in sql
    assert "unnest($4::text[], $5::bytea[], $6::bytea[])" in sql
    assert sql.endswith("order by position")


def test_the_shared_part_takes_placeholders_only() -> None:
    with pytest.raises(ValueError, match="placeholders"):
        rows_sql("'alarm'", "$4", "$5", "$6")
