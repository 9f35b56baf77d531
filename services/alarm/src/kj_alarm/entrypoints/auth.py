"""Which 110 integration a bearer token belongs to: the one check, for the FastAPI routes and
for the lean intake path. Only the tokens' SHA-256 hashes are kept, and the offered token's
hash is compared with every one in constant time, so the answer's timing says nothing."""

import hmac
from collections.abc import Mapping

from kj_alarm.settings import token_hash


class IntegrationTokens:
    def __init__(self, hashes: Mapping[str, str]) -> None:
        """`hashes`: integration name -> SHA-256 hex of its token (the settings' form)."""
        self._hashes = {name: bytes.fromhex(digest) for name, digest in hashes.items()}

    def integration(self, token: str) -> str | None:
        """The integration that holds `token`, or None."""
        offered = bytes.fromhex(token_hash(token))
        found = None
        for name, expected in self._hashes.items():  # compare with every hash: no timing hint
            if hmac.compare_digest(offered, expected):
                found = name
        return found

    def from_header(self, authorization: bytes | None) -> str | None:
        """The integration named by a raw `Authorization: Bearer <token>` header, or None."""
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return None
        try:
            token = authorization[7:].strip().decode()
        except UnicodeDecodeError:
            return None
        return self.integration(token)
