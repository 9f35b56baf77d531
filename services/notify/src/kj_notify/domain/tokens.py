"""Device tokens: a terminal proves which unit it is. Only hashes are compared, in constant time."""

import hashlib
import hmac
from collections.abc import Mapping


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def dev_token(secret: str, unit_id: str) -> str:
    """The demo/simulator token of a unit, derived from the dev secret."""
    return hmac.new(secret.encode(), f"unit:{unit_id}".encode(), hashlib.sha256).hexdigest()


class TokenBook:
    """Which token hash belongs to which unit (or integration)."""

    def __init__(self, hashes: Mapping[str, str], *, dev_secret: str | None = None) -> None:
        self._hashes = {key: value.lower() for key, value in hashes.items()}
        self._dev_secret = dev_secret

    def speaks_for(self, owner: str, token: str | None) -> bool:
        if not token or not owner:
            return False
        presented = token_hash(token)
        expected = self._hashes.get(owner)
        if expected is None and self._dev_secret is not None:
            expected = token_hash(dev_token(self._dev_secret, owner))
        if expected is None:
            hmac.compare_digest(presented, presented)  # same work whether the owner exists or not
            return False
        return hmac.compare_digest(presented, expected)


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
