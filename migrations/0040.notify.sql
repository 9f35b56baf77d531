-- depends: 0005.city_fingerprint
-- Notify: what each unit's terminal must receive (kept until it acknowledges), the 110
-- integrations' status callbacks, and the taxi drivers / volunteers who receive broadcasts.

-- One row per work-order message for a unit. `seq` orders them; a row is re-sent until the
-- terminal acknowledges it (`delivered_at`). An assign that was withdrawn later is marked so.
create table terminal_deliveries (
    seq bigserial primary key,
    unit_id text not null,
    work_order_id uuid not null,
    alarm_id uuid not null,
    action text not null check (action in ('assign', 'withdraw')),
    payload jsonb not null,
    issued_at timestamptz not null,
    stored_at timestamptz not null default now(),
    delivered_at timestamptz,
    read_at timestamptz,
    failed_at timestamptz,        -- not acknowledged within the work order's accept window
    withdrawn_at timestamptz,
    unique (work_order_id, action)
);
create index terminal_deliveries_pending_idx on terminal_deliveries (unit_id, seq)
    where delivered_at is null;
create index terminal_deliveries_overdue_idx on terminal_deliveries (issued_at)
    where delivered_at is null and failed_at is null and withdrawn_at is null and action = 'assign';
create index terminal_deliveries_unit_idx on terminal_deliveries (unit_id, work_order_id);

-- Where each 110 integration wants its alarms' status changes, and the secret they are signed with.
create table integration_callbacks (
    source text primary key,
    url text not null,
    signing_secret text not null,
    updated_at timestamptz not null default now()
);

-- Each status change owed to an integration: pending until its receiver answers 2xx, or dead
-- after the retry window (then dead-lettered with the cause). A lease keeps two replicas from
-- posting the same row at once.
create table callback_deliveries (
    id bigserial primary key,
    message_id uuid not null unique,
    source text not null,
    body bytea not null,
    source_topic text not null,
    source_partition integer not null,
    source_offset bigint not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
    attempts integer not null default 0,
    last_error text,
    lease_until timestamptz,
    created_at timestamptz not null default now(),
    done_at timestamptz
);
create index callback_deliveries_pending_idx on callback_deliveries (source, id)
    where status = 'pending';

-- Registered taxi drivers (的哥警务) and volunteer patrols (义警) with their last known position.
create table field_recipients (
    recipient_id text primary key,
    kind text not null check (kind in ('taxi', 'volunteer')),
    lat double precision not null check (lat between -90 and 90),
    lon double precision not null check (lon between -180 and 180),
    active boolean not null default true,
    position_at timestamptz not null default now()
);

-- Each broadcast reaches each recipient once.
create table broadcast_deliveries (
    broadcast_id uuid not null,
    recipient_id text not null references field_recipients (recipient_id),
    channel text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    detail text,
    payload jsonb not null,
    created_at timestamptz not null default now(),
    lease_until timestamptz,
    done_at timestamptz,
    primary key (broadcast_id, recipient_id)
);
create index broadcast_deliveries_pending_idx on broadcast_deliveries (created_at)
    where status = 'pending';

-- Sample registry for the demo city (邵阳): 200 taxi drivers and 100 volunteers spread over the
-- city centre, deterministic positions (no random()) so tests and demos agree.
insert into field_recipients (recipient_id, kind, lat, lon)
select
    case when n <= 200 then 'taxi-' || lpad(n::text, 4, '0')
         else 'vol-' || lpad((n - 200)::text, 4, '0') end,
    case when n <= 200 then 'taxi' else 'volunteer' end,
    27.215 + ((n * 7919) % 997) / 997.0 * 0.05,
    111.43 + ((n * 104729) % 991) / 991.0 * 0.07
from generate_series(1, 300) as n;
