"""The device registry in PostgreSQL (migrations/0090): what the gateway loads, and what
`kj-devices devices add|list|revoke` changes."""

import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kj_devices.domain.binding import Binding, Protocol, digest, terminal_number
from kj_devices.domain.coords import Datum


class RegistryError(ValueError):
    """A registry change refused, with what to do about it."""


async def load(pool: asyncpg.Pool | asyncpg.Connection) -> dict[str, Binding]:
    rows = await pool.fetch(
        """select device_id, protocol, unit_id, secret, datum, text_dispatch
             from devices where revoked_at is null"""
    )
    return {
        row["device_id"]: Binding(
            row["device_id"],
            Protocol(row["protocol"]),
            row["unit_id"],
            row["secret"],
            Datum(row["datum"]),
            row["text_dispatch"],
        )
        for row in rows
    }


async def fingerprint(pool: asyncpg.Pool | asyncpg.Connection) -> tuple[int, int]:
    """Changes whenever a bound device's row does (added, revoked, rebound, edited by hand)."""
    row = await pool.fetchrow(
        """select count(*)::bigint as n,
                  coalesce(sum(hashtextextended(concat_ws('|', device_id, protocol, unit_id,
                      secret, datum, text_dispatch), 0)), 0)::text as h
             from devices where revoked_at is null"""
    )
    assert row is not None
    return int(row["n"]), int(row["h"])


@dataclass(frozen=True)
class Added:
    device_id: str
    unit_id: str
    secret: str  # the auth code or token, in clear: shown once


async def add(
    connection: asyncpg.Connection,
    *,
    protocol: Protocol,
    device_id: str,
    unit_id: str,
    datum: Datum = Datum.wgs84,
    text_dispatch: bool = False,
    secret: str | None = None,
    note: str | None = None,
    replace: bool = False,
) -> Added:
    """Binds a device to a unit (replacing a revoked binding of the same id, or any binding
    with `replace`: the simulator's own devices). Raises RegistryError when the unit is not in
    the city or the device is bound already."""
    if protocol is Protocol.jt808:
        device_id = terminal_number(device_id)
        if not device_id.isdigit() or len(device_id) > 20:
            raise RegistryError(f"an 808 terminal number is up to 20 digits, not {device_id!r}")
    if text_dispatch and protocol is not Protocol.jt808:
        raise RegistryError("only an 808 terminal takes work orders as text (--text-dispatch)")
    if not await connection.fetchval("select 1 from units where unit_id = $1", unit_id):
        raise RegistryError(f"unit {unit_id!r} is not in the city (kj-infra seed loads it)")
    clear = secret or (
        secrets.token_hex(8) if protocol is Protocol.jt808 else secrets.token_urlsafe(24)
    )
    stored = clear if protocol is Protocol.jt808 else digest(clear)
    try:
        done = await connection.fetchval(
            """insert into devices
                 (device_id, protocol, unit_id, secret, datum, text_dispatch, note)
               values ($1, $2, $3, $4, $5, $6, $7)
               on conflict (device_id) do update set protocol = excluded.protocol,
                 unit_id = excluded.unit_id, secret = excluded.secret, datum = excluded.datum,
                 text_dispatch = excluded.text_dispatch, note = excluded.note,
                 created_at = now(), revoked_at = null
               where devices.revoked_at is not null or $8
               returning true""",
            device_id,
            protocol.value,
            unit_id,
            stored,
            datum.value,
            text_dispatch,
            note,
            replace,
        )
    except asyncpg.CheckViolationError as error:
        raise RegistryError(f"device id {device_id!r} is not a valid id: {error}") from error
    if not done:
        raise RegistryError(f"device {device_id!r} is bound already: revoke it first")
    return Added(device_id, unit_id, clear)


@dataclass(frozen=True)
class Listed:
    device_id: str
    protocol: str
    unit_id: str
    datum: str
    text_dispatch: bool
    created_at: datetime
    revoked_at: datetime | None
    note: str | None


async def listing(connection: asyncpg.Connection, *, revoked: bool = False) -> list[Listed]:
    rows = await connection.fetch(
        """select device_id, protocol, unit_id, datum, text_dispatch, created_at, revoked_at, note
             from devices where $1 or revoked_at is null order by unit_id, device_id""",
        revoked,
    )
    return [Listed(**dict(row)) for row in rows]


async def revoke(connection: asyncpg.Connection, device_id: str) -> bool:
    """True when a bound device was revoked now."""
    for candidate in dict.fromkeys((device_id, terminal_number(device_id))):
        status = await connection.execute(
            "update devices set revoked_at = now() where device_id = $1 and revoked_at is null",
            candidate,
        )
        if status.endswith(" 1"):
            return True
    return False
