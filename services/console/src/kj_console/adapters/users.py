"""SQL for the console's users and their sessions (`console_users`, `console_sessions`)."""

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    active: bool
    password_hash: str | None


@dataclass(frozen=True)
class SessionRow:
    username: str
    display_name: str
    role: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


async def find(db: Db, username: str) -> User | None:
    row = await db.fetchrow(
        "select username, display_name, role, active, password_hash from console_users"
        " where username = $1",
        username,
    )
    return User(**dict(row)) if row else None


async def find_by_subject(db: Db, subject: str) -> User | None:
    row = await db.fetchrow(
        "select username, display_name, role, active, password_hash from console_users"
        " where oidc_subject = $1",
        subject,
    )
    return User(**dict(row)) if row else None


async def upsert(
    db: Db, *, username: str, display_name: str, role: str, password_hash: str | None
) -> bool:
    """Add the user, or give an existing one this role and password (and enable it). True when
    the user is new."""
    return bool(
        await db.fetchval(
            """insert into console_users (username, display_name, role, password_hash)
               values ($1, $2, $3, $4)
               on conflict (username) do update set display_name = $2, role = $3,
                 password_hash = coalesce($4, console_users.password_hash), active = true,
                 disabled_at = null
               returning (xmax = 0)""",
            username,
            display_name,
            role,
            password_hash,
        )
    )


async def disable(pool: asyncpg.Pool, username: str) -> bool:
    """The user can no longer sign in, and their open sessions end now."""
    async with pool.acquire() as connection, connection.transaction():
        found = await connection.fetchval(
            "update console_users set active = false, disabled_at = now() where username = $1"
            " returning true",
            username,
        )
        await connection.execute(
            "update console_sessions set ended_at = now() where username = $1 and ended_at is null",
            username,
        )
    return bool(found)


async def all_users(db: Db) -> list[User]:
    rows = await db.fetch(
        "select username, display_name, role, active, password_hash from console_users"
        " order by username"
    )
    return [User(**dict(row)) for row in rows]


async def start_session(
    db: Db, *, token_hash: bytes, username: str, csrf_token: str, expires_at: datetime
) -> None:
    await db.execute(
        "insert into console_sessions (session_hash, username, csrf_token, expires_at)"
        " values ($1, $2, $3, $4)",
        token_hash,
        username,
        csrf_token,
        expires_at,
    )


async def session(db: Db, token_hash: bytes) -> SessionRow | None:
    """A session that has not ended nor expired, of a user still active."""
    row = await db.fetchrow(
        """select s.username, u.display_name, u.role, s.csrf_token, s.created_at, s.expires_at
           from console_sessions s join console_users u using (username)
           where s.session_hash = $1 and s.ended_at is null and s.expires_at > now()
             and u.active""",
        token_hash,
    )
    return SessionRow(**dict(row)) if row else None


async def extend(db: Db, token_hash: bytes, expires_at: datetime) -> None:
    await db.execute(
        "update console_sessions set expires_at = $2 where session_hash = $1 and ended_at is null",
        token_hash,
        expires_at,
    )


async def end_session(db: Db, token_hash: bytes) -> None:
    await db.execute(
        "update console_sessions set ended_at = now() where session_hash = $1", token_hash
    )
