"""Who a bearer token speaks for, and which alarms it may see and act on: the one check, for the
FastAPI routes and for the lean intake path (decision 0072).

The tokens are the integration registry's (`kj_runtime.integrations`, decision 0126): held in
memory as SHA-256 hashes and compared in constant time, no database round trip per request
(decision 0012). The lean path looks only at the registry's snapshot; a token it does not hold
goes on to the FastAPI route, which waits for a fresh read of the registry (a token just
rotated in) before it refuses. The routes only ever ask a `Caller` whether it `owns` an
alarm's source."""

from dataclasses import dataclass, field

from kj_runtime.integrations import Integration, IntegrationRegistry


@dataclass(frozen=True)
class Caller:
    """An authenticated 110 integration and its scope: the sources whose alarms it may report,
    read and act on (its own name today)."""

    integration: str
    sources: frozenset[str]
    registered: Integration | None = field(default=None, compare=False)  # its rate limit

    def owns(self, source: str) -> bool:
        """May this caller see and act on an alarm reported by `source`? Every route that
        reads or changes an alarm asks this, and answers 404 when not (ids do not leak)."""
        return source in self.sources


class IntegrationTokens:
    def __init__(self, registry: IntegrationRegistry) -> None:
        self.registry = registry
        self._callers: dict[Integration, Caller] = {}

    def _caller(self, found: Integration | None) -> Caller | None:
        if found is None:
            return None
        caller = self._callers.get(found)
        if caller is None:
            caller = Caller(found.name, frozenset({found.name}), found)
            self._callers[found] = caller
        return caller

    def caller(self, token: str) -> Caller | None:
        """Who `token` speaks for in the registry's snapshot, with its scope; None for no
        integration's token (or one not read yet)."""
        return self._caller(self.registry.holder(token))

    async def authenticate(self, token: str) -> Caller | None:
        """Who `token` speaks for; a token the snapshot lacks waits for a fresh read."""
        return self._caller(await self.registry.authenticate(token))

    def admit(self, caller: Caller) -> float | None:
        """None when the caller is within its rate limit; otherwise the seconds to wait."""
        return None if caller.registered is None else self.registry.admit(caller.registered)

    def from_header(self, authorization: bytes | None) -> Caller | None:
        """The caller named by a raw `Authorization: Bearer <token>` header, or None."""
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return None
        try:
            token = authorization[7:].strip().decode()
        except UnicodeDecodeError:
            return None
        return self.caller(token)
