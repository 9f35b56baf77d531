"""Sessions of the console: a random token in an HttpOnly cookie, signed so a forged one is
refused before any lookup, and kept server-side only as its hash; when it ends; and the guard
against guessing passwords. No I/O."""

import base64
import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

COOKIE = "kj_console_session"
CSRF_HEADER = "X-CSRF-Token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _mac(token: str, key: bytes) -> str:
    digest = hmac.new(key, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(token: str, key: bytes) -> str:
    return f"{token}.{_mac(token, key)}"


def verify(cookie: str | None, key: bytes) -> str | None:
    """The token of a cookie this console signed; None for anything else."""
    if not cookie or cookie.count(".") != 1:
        return None
    token, mac = cookie.split(".")
    return token if hmac.compare_digest(mac, _mac(token, key)) else None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def expires_at(*, now: datetime, created: datetime, idle_s: int, max_s: int) -> datetime:
    """A session lives `idle_s` past its last request, never past `max_s` from its start."""
    return min(now + timedelta(seconds=idle_s), created + timedelta(seconds=max_s))


@dataclass
class LoginGuard:
    """After `max_failures` wrong passwords within `lock_s`, a name is refused until the oldest
    of them is `lock_s` old: guessing costs time, a person who mistyped waits minutes."""

    max_failures: int = 5
    lock_s: float = 300.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def locked(self, username: str, now: float) -> bool:
        recent = self._recent(username, now)
        return len(recent) >= self.max_failures

    def failed(self, username: str, now: float) -> None:
        self._recent(username, now).append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)

    def _recent(self, username: str, now: float) -> deque[float]:
        times = self._failures.setdefault(username, deque(maxlen=self.max_failures))
        while times and now - times[0] > self.lock_s:
            times.popleft()
        return times
