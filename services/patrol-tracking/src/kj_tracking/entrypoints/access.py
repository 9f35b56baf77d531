"""Who may read units' positions and tracks, and which units: the one check of the tracking
API (decision 0072). An operator's bearer token until the console's sessions exist, kept as a
hash; each operator sees the units of its platforms (all of them when none are named). A unit
it may not see is answered like one that does not exist (404), so unit ids say nothing."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kj_runtime.credentials import TokenTable, bearer_token


@dataclass(frozen=True)
class Operator:
    name: str
    platforms: frozenset[str] | None  # None: every platform of the city

    def sees(self, platform_id: str) -> bool:
        return self.platforms is None or platform_id in self.platforms


class Operators:
    def __init__(self, hashes: Mapping[str, str], platforms: Mapping[str, Sequence[str]]) -> None:
        self._table = TokenTable(hashes)
        self._operators = {
            name: Operator(name, frozenset(platforms[name]) if name in platforms else None)
            for name in hashes
        }

    def from_header(self, authorization: str | None) -> Operator | None:
        """The operator an `Authorization: Bearer <token>` header names, or None."""
        token = bearer_token(authorization)
        name = self._table.holder(token) if token else None
        return self._operators[name] if name is not None else None
