"""Who a bearer token speaks for, and which alarms it may see and act on: the one check, for the
FastAPI routes and for the lean intake path (decision 0072).

Only the tokens' SHA-256 hashes are kept and compared in constant time
(`kj_runtime.credentials.TokenTable`), in memory: no database round trip per request (decision
0012). When the integrations' tokens move to a registry
(issue 19), the registry replaces `IntegrationTokens` and hands out `Caller`s the same way;
the routes only ever ask a `Caller` whether it `owns` an alarm's source."""

from collections.abc import Mapping
from dataclasses import dataclass

from kj_runtime.credentials import TokenTable


@dataclass(frozen=True)
class Caller:
    """An authenticated 110 integration and its scope: the sources whose alarms it may report,
    read and act on (its own name today)."""

    integration: str
    sources: frozenset[str]

    def owns(self, source: str) -> bool:
        """May this caller see and act on an alarm reported by `source`? Every route that
        reads or changes an alarm asks this, and answers 404 when not (ids do not leak)."""
        return source in self.sources


class IntegrationTokens:
    def __init__(self, hashes: Mapping[str, str]) -> None:
        """`hashes`: integration name -> SHA-256 hex of its token (the settings' form)."""
        self._table = TokenTable(hashes)
        self._callers = {name: Caller(name, frozenset({name})) for name in hashes}

    def integration(self, token: str) -> str | None:
        """The integration that holds `token`, or None."""
        return self._table.holder(token)

    def caller(self, token: str) -> Caller | None:
        """Who `token` speaks for, with its scope; None for no integration's token."""
        name = self.integration(token)
        return self._callers[name] if name is not None else None

    def from_header(self, authorization: bytes | None) -> Caller | None:
        """The caller named by a raw `Authorization: Bearer <token>` header, or None."""
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return None
        try:
            token = authorization[7:].strip().decode()
        except UnicodeDecodeError:
            return None
        return self.caller(token)
