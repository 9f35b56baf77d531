-- depends: 0040.notify
-- The integration registry (docs/decisions/0126): every 110 integration that alarm intake and
-- notify accept, its tokens (several active at once, each with an id, an expiry and a
-- revocation), its rate limit; its callback URL and signing secret stay in
-- integration_callbacks (notify's), with the secret it replaced while receivers move over.
-- Edited with `kj-admin integrations add|rotate|revoke|list`; the services read it every few
-- seconds and again when a token they do not know arrives, so a new token works at once.
create table integrations (
    name text primary key,              -- the alarms' `source`, e.g. sy110
    rate_per_s double precision check (rate_per_s > 0),  -- null: the services' default
    burst integer check (burst >= 1),
    note text,
    created_at timestamptz not null default now(),
    revoked_at timestamptz,             -- every token refused from then on
    check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$')
);

create table integration_tokens (
    token_id text primary key,          -- shown by `list`, named by `revoke --token`
    integration text not null references integrations (name),
    sha256 bytea not null unique,       -- of the token; the token itself is shown once
    created_at timestamptz not null default now(),
    expires_at timestamptz,             -- null: until revoked
    revoked_at timestamptz,
    check (octet_length(sha256) = 32)
);
create index integration_tokens_by_integration on integration_tokens (integration);

-- a rotated signing secret: callbacks are signed with both until `previous_until`
alter table integration_callbacks
    add column previous_signing_secret text,
    add column previous_until timestamptz;
