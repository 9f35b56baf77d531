"""SQL of the integration registry's edits (`kj-admin integrations`, decision 0126). A token
or signing secret is made here, returned once to be shown once, and kept only as its SHA-256
(the token) or as the secret itself (notify must sign with it)."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from kj_runtime.integrations import TOKEN_PREFIX

SECRET_PREFIX = "whsec_"  # noqa: S105 - Standard Webhooks' form: the prefix and the secret's base64


class RegistryError(Exception):
    """An edit that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class NewToken:
    integration: str
    token_id: str
    token: str | None  # None when only a hash was given
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenRow:
    token_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class IntegrationRow:
    name: str
    rate_per_s: float | None
    burst: int | None
    note: str | None
    revoked_at: datetime | None
    callback_url: str | None
    tokens: list[TokenRow]


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _token_id() -> str:
    return "tok_" + secrets.token_hex(5)


async def _insert_token(
    connection: asyncpg.Connection,
    name: str,
    *,
    expires_in: timedelta | None,
    token_sha256: str | None = None,
) -> NewToken:
    token = None if token_sha256 else new_token()
    digest = (
        bytes.fromhex(token_sha256) if token_sha256 else hashlib.sha256(token.encode()).digest()  # type: ignore[union-attr]
    )
    token_id = _token_id()
    try:
        expires_at = await connection.fetchval(
            "insert into integration_tokens (token_id, integration, sha256, expires_at) "
            "values ($1, $2, $3, now() + $4::interval) returning expires_at",
            token_id,
            name,
            digest,
            expires_in,
        )
    except asyncpg.UniqueViolationError:
        raise RegistryError("that token is already registered") from None
    return NewToken(name, token_id, token, expires_at)


async def add(
    connection: asyncpg.Connection,
    name: str,
    *,
    rate_per_s: float | None = None,
    burst: int | None = None,
    note: str | None = None,
    expires_in: timedelta | None = None,
    token_sha256: str | None = None,
) -> NewToken:
    """A new integration with its first token (made here, or a hash already handed out)."""
    async with connection.transaction():
        try:
            await connection.execute(
                "insert into integrations (name, rate_per_s, burst, note) values ($1, $2, $3, $4)",
                name,
                rate_per_s,
                burst,
                note,
            )
        except asyncpg.UniqueViolationError:
            raise RegistryError(
                f"{name} is registered already: `rotate` gives it another token"
            ) from None
        except asyncpg.CheckViolationError:
            raise RegistryError(
                f"{name!r}: a name is 1-64 letters, digits, '_', '.', ':' or '-'; "
                "a rate and a burst are positive"
            ) from None
        return await _insert_token(
            connection, name, expires_in=expires_in, token_sha256=token_sha256
        )


async def _active(connection: asyncpg.Connection, name: str) -> None:
    revoked = await connection.fetchval(
        "select revoked_at is not null from integrations where name = $1", name
    )
    if revoked is None:
        raise RegistryError(f"no integration {name!r}: `add` registers it")
    if revoked:
        raise RegistryError(f"{name} is revoked")


async def rotate(
    connection: asyncpg.Connection,
    name: str,
    *,
    overlap: timedelta | None,
    expires_in: timedelta | None = None,
) -> NewToken:
    """Another token for `name`; its other active tokens expire after `overlap` (None: they
    stay until revoked), so clients move to the new one without a refused request."""
    async with connection.transaction():
        await _active(connection, name)
        if overlap is not None:
            await connection.execute(
                "update integration_tokens set expires_at = least(coalesce(expires_at, "
                "'infinity'), now() + $2::interval) where integration = $1 and revoked_at is null",
                name,
                overlap,
            )
        return await _insert_token(connection, name, expires_in=expires_in)


async def revoke(connection: asyncpg.Connection, name: str, *, token_id: str | None) -> int:
    """Revoke one token of `name`, or (no `token_id`) the integration and all its tokens;
    returns how many tokens were revoked now."""
    async with connection.transaction():
        await _active(connection, name)
        if token_id is not None:
            return int(
                await connection.fetchval(
                    "with r as (update integration_tokens set revoked_at = now() "
                    "where integration = $1 and token_id = $2 and revoked_at is null "
                    "returning 1) select count(*) from r",
                    name,
                    token_id,
                )
            )
        await connection.execute("update integrations set revoked_at = now() where name = $1", name)
        return int(
            await connection.fetchval(
                "with r as (update integration_tokens set revoked_at = now() "
                "where integration = $1 and revoked_at is null returning 1) "
                "select count(*) from r",
                name,
            )
        )


async def set_callback(
    connection: asyncpg.Connection, name: str, url: str, *, overlap: timedelta | None = None
) -> str:
    """`name`'s callback URL with a new signing secret (returned, to be shown once); the one it
    replaces still signs each callback beside it for `overlap`."""
    secret = new_signing_secret()
    await connection.execute(
        "insert into integration_callbacks (source, url, signing_secret) values ($1, $2, $3) "
        "on conflict (source) do update set url = excluded.url, "
        "signing_secret = excluded.signing_secret, "
        "previous_signing_secret = case when $4::interval is null then null "
        "  else integration_callbacks.signing_secret end, "
        "previous_until = now() + $4::interval, updated_at = now()",
        name,
        url,
        secret,
        overlap,
    )
    return secret


async def listing(connection: asyncpg.Connection, *, revoked: bool = False) -> list[IntegrationRow]:
    rows = await connection.fetch(
        "select i.name, i.rate_per_s, i.burst, i.note, i.revoked_at, c.url "
        "from integrations i left join integration_callbacks c on c.source = i.name "
        "where $1 or i.revoked_at is null order by i.name",
        revoked,
    )
    tokens = await connection.fetch(
        "select integration, token_id, created_at, expires_at, revoked_at "
        "from integration_tokens where $1 or (revoked_at is null and "
        "(expires_at is null or expires_at > now())) order by created_at",
        revoked,
    )
    by_name: dict[str, list[TokenRow]] = {}
    for t in tokens:
        by_name.setdefault(t["integration"], []).append(
            TokenRow(t["token_id"], t["created_at"], t["expires_at"], t["revoked_at"])
        )
    return [
        IntegrationRow(
            r["name"],
            r["rate_per_s"],
            r["burst"],
            r["note"],
            r["revoked_at"],
            r["url"],
            by_name.get(r["name"], []),
        )
        for r in rows
    ]
