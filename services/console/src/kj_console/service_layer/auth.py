"""Signing in and out, and who a request comes from: named users with argon2id password hashes,
a session per browser (a signed random token in an HttpOnly, SameSite=Strict cookie; its hash
in PostgreSQL; a CSRF token for every request that acts), ended after `session_idle_s` without a
request or `session_max_s` in any case, and at once when the user is disabled."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kj_console.adapters import audit, users
from kj_console.domain.roles import Role
from kj_console.domain.sessions import (
    LoginGuard,
    expires_at,
    new_token,
    sign,
    token_hash,
    verify,
)
from kj_console.settings import ConsoleSettings
from kj_schemas.base import utcnow

_HASHER = PasswordHasher()  # argon2id with the library's current parameters (RFC 9106 low-memory)
# a hash of nothing, checked when the name is unknown, so the answer takes as long either way
_DUMMY = _HASHER.hash("no such user")
_CACHE_S = 5.0  # a session checked this recently is not read again for every request


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _matches(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


class LoginRefused(Exception):
    def __init__(self, reason: str) -> None:  # bad_credentials | locked
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedIn:
    username: str
    display_name: str
    role: Role
    csrf: str
    token_hash: bytes


class Accounts:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        key: bytes,
        settings: ConsoleSettings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.pool = pool
        self.key = key
        self.settings = settings
        self.clock = clock
        self.guard = LoginGuard(settings.login_max_failures, settings.login_lock_s)
        self._cache: dict[bytes, tuple[SignedIn, float]] = {}

    async def login(self, username: str, password: str) -> tuple[SignedIn, str]:
        """The person and the cookie value of their new session."""
        now_s = time.monotonic()
        if self.guard.locked(username, now_s):
            raise LoginRefused("locked")
        user = await users.find(self.pool, username)
        hashed = user.password_hash if user is not None and user.password_hash else _DUMMY
        good = await asyncio.to_thread(_matches, hashed, password)  # ~50 ms of CPU, off the loop
        if user is None or not user.active or not user.password_hash or not good:
            self.guard.failed(username, now_s)
            raise LoginRefused("bad_credentials")
        self.guard.succeeded(username)
        token, csrf = new_token(), new_token()
        now = self.clock()
        await users.start_session(
            self.pool,
            token_hash=token_hash(token),
            username=user.username,
            csrf_token=csrf,
            expires_at=expires_at(
                now=now,
                created=now,
                idle_s=self.settings.session_idle_s,
                max_s=self.settings.session_max_s,
            ),
        )
        who = SignedIn(user.username, user.display_name, Role(user.role), csrf, token_hash(token))
        await audit.record(
            self.pool, actor=who.username, role=who.role, action="login", outcome="done", request={}
        )
        return who, sign(token, self.key)

    async def session(self, cookie: str | None) -> SignedIn | None:
        """Who holds this cookie, if its session is alive (and it lives on: a request moves
        its idle end)."""
        token = verify(cookie, self.key)
        if token is None:
            return None
        hashed = token_hash(token)
        cached = self._cache.get(hashed)
        if cached is not None and time.monotonic() - cached[1] < _CACHE_S:
            return cached[0]
        row = await users.session(self.pool, hashed)
        if row is None:
            self._cache.pop(hashed, None)
            return None
        now = self.clock()
        later = expires_at(
            now=now,
            created=row.created_at,
            idle_s=self.settings.session_idle_s,
            max_s=self.settings.session_max_s,
        )
        if (later - row.expires_at).total_seconds() > 60:
            await users.extend(self.pool, hashed, later)
        who = SignedIn(row.username, row.display_name, Role(row.role), row.csrf_token, hashed)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[hashed] = (who, time.monotonic())
        return who

    async def logout(self, who: SignedIn) -> None:
        self._cache.pop(who.token_hash, None)
        await users.end_session(self.pool, who.token_hash)
        await audit.record(
            self.pool,
            actor=who.username,
            role=who.role,
            action="logout",
            outcome="done",
            request={},
        )


async def add_user(
    pool: asyncpg.Pool, *, username: str, display_name: str, role: Role, password: str | None
) -> bool:
    """Add a user (or update one: role, name, and the password when given); True when new."""
    hashed = await asyncio.to_thread(hash_password, password) if password else None
    return await users.upsert(
        pool, username=username, display_name=display_name, role=role, password_hash=hashed
    )
