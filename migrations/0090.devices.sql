-- depends: 0005.city_fingerprint
-- The device registry (docs/decisions/0090): which terminal or phone speaks for which unit,
-- with its secret. A bureau edits it with `kj-devices devices add|list|revoke`; the gateway
-- reads it at start and every few seconds after, so a revoked device is refused at once.
create table devices (
    device_id text primary key,      -- an 808 terminal number (no leading zeros) or a phone's id
    protocol text not null check (protocol in ('jt808', 'http')),
    unit_id text not null references units (unit_id),
    -- jt808: the authentication code (0x8100 repeats it to a terminal that registers again);
    -- http: sha256 of the token, hex (the token itself is shown once, by `add`)
    secret text not null,
    datum text not null default 'wgs84' check (datum in ('wgs84', 'gcj02', 'bd09')),
    text_dispatch boolean not null default false,  -- an 808-only vehicle: work orders as 0x8300
    note text,
    created_at timestamptz not null default now(),
    revoked_at timestamptz,
    check (device_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$')
);
create index devices_unit_idx on devices (unit_id) where revoked_at is null;
