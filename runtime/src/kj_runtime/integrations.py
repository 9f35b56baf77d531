"""The integration registry as alarm intake and notify read it (decision 0126): who a bearer
token speaks for, and how many requests a second that integration may make.

The registry lives in PostgreSQL (`integrations`, `integration_tokens`; `kj-admin
integrations`), and is held in memory: a token is checked with no round trip (decision 0012).
Each offered token's SHA-256 is compared with every active token's in constant time, so the
answer's timing says nothing; the token itself is never kept, logged or compared in clear.

The snapshot is read again every `refresh_s`, and sooner when a token arrives that it does not
hold and that has the form `kj-admin` gives (`kj_...`): the request then waits for a read that
began after it arrived (at most one every `miss_refresh_s`), so a token `kj-admin integrations
rotate` just printed is taken at once by every replica, and a rotation refuses nothing. A
revoked or expired token is refused at the next read (expiry at once). A read that fails keeps
the last snapshot.

Tokens from the services' settings (the older `KJ_ALARM_INTEGRATIONS`,
`KJ_NOTIFY_INTEGRATION_TOKEN_SHA256`) are held beside the table's as tokens `settings`."""

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
import structlog
from prometheus_client import Counter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kj_runtime.errors import UNAVAILABLE
from kj_runtime.rate_limit import TokenBucket

log = structlog.get_logger(__name__)

LIMITED = Counter(
    "kj_integration_requests_limited_total",
    "Requests of an integration refused with 429: over its rate limit on this replica",
    ["service", "integration"],
)
MISS_WAIT_S = 2.0  # an unknown token waits at most this long for a fresh read
# what every token `kj-admin` makes begins with: only such a token is worth a fresh read (any
# other unknown one is refused at once, so a flood of made-up tokens costs nothing)
TOKEN_PREFIX = "kj_"  # noqa: S105 - a prefix, not a secret


class IntegrationSettings(BaseSettings):
    """How the services read the registry, and the rate limit of an integration that names
    none (`kj-admin integrations add --rate`)."""

    model_config = SettingsConfigDict(env_prefix="KJ_INTEGRATIONS_", extra="ignore")

    refresh_s: float = Field(default=2.0, gt=0)  # the registry is read again this often
    # a token of kj-admin's form that the services do not hold rereads it, at most this often
    miss_refresh_s: float = Field(default=0.2, ge=0)
    # requests a second per integration and replica unless the registry sets its own (a 429
    # beyond); above what one replica takes in (1,730 alarms/s measured)
    rate_per_s: float = Field(default=2000.0, gt=0)
    # requests at once per integration and replica, unless the registry sets its own
    burst: int = Field(default=2000, ge=1)


@dataclass(frozen=True)
class Integration:
    name: str
    rate_per_s: float
    burst: int


@dataclass(frozen=True)
class _Token:
    token_id: str
    digest: bytes
    integration: Integration
    expires_at: float | None  # epoch seconds


@dataclass
class _Snapshot:
    tokens: list[_Token] = field(default_factory=list)
    integrations: dict[str, Integration] = field(default_factory=dict)


TOKENS_SQL = """
select t.token_id, t.sha256, extract(epoch from t.expires_at)::float8 as expires_at,
       i.name, i.rate_per_s, i.burst
from integration_tokens t join integrations i on i.name = t.integration
where t.revoked_at is null and i.revoked_at is null
  and (t.expires_at is null or t.expires_at > now())
"""
INTEGRATIONS_SQL = "select name, rate_per_s, burst from integrations where revoked_at is null"


class IntegrationRegistry:
    def __init__(
        self,
        pool: asyncpg.Pool | None,
        settings: IntegrationSettings,
        *,
        service: str,
        static: Mapping[str, str] | None = None,
    ) -> None:
        """`static`: integration name -> SHA-256 hex of a token, from a service's settings."""
        self.pool = pool
        self.settings = settings
        self.service = service
        self._static = dict(static or {})
        self._snapshot = self._build([], [])
        self._buckets: dict[str, tuple[Integration, TokenBucket]] = {}
        self._wanted = asyncio.Event()
        self._read = asyncio.Condition()
        self._read_began = 0.0  # monotonic time the last finished read began
        self._running = False

    # -- who is speaking -------------------------------------------------------------------

    def holder(self, token: str, *, name: str | None = None) -> Integration | None:
        """The integration that holds `token` in the snapshot, or None (no waiting); with
        `name`, only that integration (a settings table may give one token to several)."""
        offered = hashlib.sha256(token.encode()).digest()
        now = time.time()
        found = None
        for entry in self._snapshot.tokens:  # compare with every hash: no timing hint
            if (
                hmac.compare_digest(offered, entry.digest)
                and (entry.expires_at is None or entry.expires_at > now)
                and (name is None or entry.integration.name == name)
            ):
                found = entry.integration
        return found

    async def authenticate(
        self, token: str | None, *, name: str | None = None
    ) -> Integration | None:
        """The integration that holds `token` (with `name`: whether that one does); a token
        the snapshot does not hold waits for a read of the registry that began after it
        arrived (a token just added)."""
        if not token:
            return None
        found = self.holder(token, name=name)
        if found is not None or self.pool is None or not token.startswith(TOKEN_PREFIX):
            return found
        await self.fresh_since(time.monotonic())
        return self.holder(token, name=name)

    def __contains__(self, name: object) -> bool:
        """Is `name` a registered integration (alarm's Kafka intake labels others `other`)?"""
        return name in self._snapshot.integrations

    # -- how fast --------------------------------------------------------------------------

    def admit(self, integration: Integration) -> float | None:
        """None when a request of `integration` may go ahead now; otherwise the seconds until
        it may (the 429's Retry-After), and the refusal is counted."""
        held = self._buckets.get(integration.name)
        if held is None or held[0] != integration:  # new, or its limit changed
            held = (integration, TokenBucket(integration.rate_per_s, integration.burst))
            self._buckets[integration.name] = held
        wait = held[1].take(time.monotonic())
        if wait is not None:
            LIMITED.labels(self.service, integration.name).inc()
        return wait

    # -- reading the registry --------------------------------------------------------------

    def _integration(self, name: str, rate: float | None, burst: int | None) -> Integration:
        return Integration(
            name,
            rate if rate is not None else self.settings.rate_per_s,
            burst if burst is not None else self.settings.burst,
        )

    def _build(self, rows: list[asyncpg.Record], names: list[asyncpg.Record]) -> _Snapshot:
        snapshot = _Snapshot()
        for row in names:
            snapshot.integrations[row["name"]] = self._integration(
                row["name"], row["rate_per_s"], row["burst"]
            )
        for name, digest in self._static.items():
            integration = snapshot.integrations.setdefault(
                name, self._integration(name, None, None)
            )
            snapshot.tokens.append(_Token("settings", bytes.fromhex(digest), integration, None))
        for row in rows:
            integration = snapshot.integrations[row["name"]]
            snapshot.tokens.append(
                _Token(row["token_id"], bytes(row["sha256"]), integration, row["expires_at"])
            )
        return snapshot

    async def load(self) -> None:
        """Read the registry now (at start: before the HTTP server opens)."""
        began = time.monotonic()
        if self.pool is not None:
            async with self.pool.acquire() as connection, connection.transaction(readonly=True):
                names = await connection.fetch(INTEGRATIONS_SQL)
                rows = await connection.fetch(TOKENS_SQL)
            self._snapshot = self._build(rows, names)
        async with self._read:
            self._read_began = began
            self._read.notify_all()

    async def fresh_since(self, asked: float) -> None:
        """Wait (at most MISS_WAIT_S) for a read of the registry that began at or after
        `asked` (monotonic)."""
        if not self._running:
            with contextlib.suppress(*UNAVAILABLE):
                await self.load()
            return
        self._wanted.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(MISS_WAIT_S), self._read:
                await self._read.wait_for(lambda: self._read_began >= asked)

    async def run(self, stop: asyncio.Event) -> None:
        """Read the registry every `refresh_s`, and when an unknown token asks for it."""
        self._running = True
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                wanted = asyncio.ensure_future(self._wanted.wait())
                await asyncio.wait(
                    {wanted, stopping},
                    timeout=self.settings.refresh_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                wanted.cancel()
                if stop.is_set():
                    break
                pause = self._read_began + self.settings.miss_refresh_s - time.monotonic()
                if pause > 0:  # unknown tokens ask at most this often
                    await asyncio.sleep(pause)
                self._wanted.clear()
                try:
                    await self.load()
                except UNAVAILABLE as error:  # keep the last snapshot
                    log.warning("integration_registry_unread", error=type(error).__name__)
        finally:
            self._running = False
            stopping.cancel()
