"""Credential tables kept as files: `{name: sha256 hex of its token}` for devices or integrations.

A province has 20,000 terminals; their hashes (about 80 bytes each as JSON) do not fit in one
environment variable (Linux: 128 KiB) nor in one Kubernetes Secret (1 MiB), so a settings field
points at a file or at a directory where several Secrets are projected, one JSON file each
(decision 0051). Every error names the file and what is wrong in it."""

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic.json_schema import JsonDict

SHA256_HEX_LEN = 64
# marks a settings field that production must provide (tests check every manifest sets it, or
# its `_file` twin): `Field(..., json_schema_extra=CREDENTIAL)`
CREDENTIAL: JsonDict = {"credential": True}


def token_hash(token: str) -> str:
    """The SHA-256 hex of a bearer token: the only form a token is kept in."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenTable:
    """Whose bearer token this is, from a table `{name: sha256 hex}`. The offered token's hash
    is compared with every one in constant time, so the answer's timing says nothing; all in
    memory, no round trip per request."""

    def __init__(self, hashes: Mapping[str, str]) -> None:
        self._hashes = {name: bytes.fromhex(digest) for name, digest in hashes.items()}

    def holder(self, token: str) -> str | None:
        """The name that holds `token`, or None."""
        offered = hashlib.sha256(token.encode()).digest()
        found = None
        for name, expected in self._hashes.items():  # compare with every hash: no timing hint
            if hmac.compare_digest(offered, expected):
                found = name
        return found

    def __bool__(self) -> bool:
        return bool(self._hashes)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def check_hashes(table: Mapping[Any, Any], *, where: str) -> dict[str, str]:
    """The table itself when every key is a name and every value a SHA-256 in hex."""
    checked: dict[str, str] = {}
    for name, digest in table.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: {name!r} is not a name")
        if not (isinstance(digest, str) and len(digest) == SHA256_HEX_LEN):
            raise ValueError(f"{where}: {name}: give the sha256 hex of its token (64 characters)")
        try:
            int(digest, 16)
        except ValueError:
            raise ValueError(f"{where}: {name}: {digest[:8]}… is not hexadecimal") from None
        checked[name] = digest.lower()
    return checked


def _read_one(file: Path) -> dict[str, str]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{file}: cannot be read ({error.strerror or error})") from None
    try:
        table = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{file}: not JSON (line {error.lineno} column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(table, dict):
        raise ValueError(f'{file}: give a JSON object {{"<name>": "<sha256 hex>", ...}}')
    return check_hashes(table, where=str(file))


def _files(directory: Path) -> list[Path]:
    """The files of a mounted Secret or projected volume: its keys, never kubelet's `..data`
    links and timestamped folders."""
    return sorted(p for p in directory.iterdir() if not p.name.startswith(".") and p.is_file())


def read_hash_table(path: Path) -> dict[str, str]:
    """Every name and hash in `path`: a JSON file, or each JSON file of a directory. A name in
    two files is refused (which one would win is a guess), and so is an empty directory."""
    if not path.exists():
        raise ValueError(f"{path}: no such file or directory")
    if not path.is_dir():
        return _read_one(path)
    files = _files(path)
    if not files:
        raise ValueError(f"{path}: the directory holds no file")
    merged: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for file in files:
        for name, digest in _read_one(file).items():
            if name in merged:
                raise ValueError(f"{file}: {name} is also in {origin[name]}")
            merged[name] = digest
            origin[name] = file
    return merged


def split_hash_table(table: Mapping[str, str], *, max_bytes: int) -> list[str]:
    """`table` as JSON documents of at most `max_bytes` each, names in order: one per Secret."""
    shards: list[str] = []
    entries: list[str] = []
    size = 2  # the braces
    for name in sorted(table):
        entry = json.dumps(name) + ":" + json.dumps(table[name])
        if entries and size + len(entry) + 1 > max_bytes:
            shards.append("{" + ",".join(entries) + "}")
            entries, size = [], 2
        entries.append(entry)
        size += len(entry) + 1
    if entries or not shards:
        shards.append("{" + ",".join(entries) + "}")
    return shards


# base64 makes 700,000 bytes about 933,000: under a Secret's 1 MiB, about 8,600 units each
SHARD_BYTES = 700_000


def main(argv: list[str] | None = None) -> int:
    """`python -m kj_runtime.credentials TABLE.json OUT_DIR`: checks a table and writes it as
    `tokens-1.json`, `tokens-2.json`, ... each small enough for one Secret (decision 0051)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m kj_runtime.credentials", description=main.__doc__
    )
    parser.add_argument("table", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--max-bytes", type=int, default=SHARD_BYTES)
    args = parser.parse_args(argv)
    try:
        table = read_hash_table(args.table)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    shards = split_hash_table(table, max_bytes=args.max_bytes)
    for i, shard in enumerate(shards, start=1):
        (args.out / f"tokens-{i}.json").write_text(shard, encoding="utf-8")
    print(f"{len(table)} names in {len(shards)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
