-- depends: 0040.notify
-- The command-centre console's own tables (issue 17): its users and their sessions, the audit of
-- every action a person took (with who, and dispatch's answer), and the notices and dead letters
-- it showed. It reads the other services' tables and never writes them.
create table console_users (
    username text primary key check (username ~ '^[a-z0-9][a-z0-9_]{0,63}$'),
    display_name text not null,
    role text not null check (role in ('viewer', 'dispatcher', 'supervisor')),
    password_hash text,  -- argon2id; none for a user who signs in through the identity provider
    oidc_subject text unique,
    active boolean not null default true,
    created_at timestamptz not null default now(),
    disabled_at timestamptz
);

-- One row per signed-in browser: the cookie holds a signed random token, the table its hash.
create table console_sessions (
    session_hash bytea primary key,
    username text not null references console_users (username),
    csrf_token text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    ended_at timestamptz
);
create index console_sessions_expires_idx on console_sessions (expires_at);

-- Every action a person took on the console, with the answer it got: `sent` until dispatch
-- answers (`done` / `refused` with the reason), `failed` when it could not be sent.
create table console_audit (
    id bigserial primary key,
    at timestamptz not null default now(),
    actor text not null,
    role text not null,
    action text not null,
    command_id uuid unique,
    alarm_id uuid,
    unit_id text,
    work_order_id uuid,
    request jsonb not null default '{}'::jsonb,
    outcome text not null check (outcome in ('sent', 'done', 'refused', 'failed')),
    reason text,
    detail text,
    answered_at timestamptz
);
create index console_audit_alarm_idx on console_audit (alarm_id, at) where alarm_id is not null;
create index console_audit_at_idx on console_audit (at);

-- Dispatch's notices and the dead letters worth a look, as the console received them, so a
-- console that starts later still shows the last hours.
create table console_notices (
    message_id uuid primary key,
    kind text not null,
    at timestamptz not null,
    body jsonb not null
);
create index console_notices_at_idx on console_notices (at);
