-- depends: 0005.city_fingerprint
-- Dispatch's own state. Every accepted alarm is recorded here when it is received (in the same
-- transaction as its message id), so committing the Kafka offset never loses one: `pending`
-- waits for the planner, `queued` waits for a unit (with the shortfall reason), `assigned` has
-- an open primary work order, `done` is closed. A restart rebuilds the queue from this table.
create table dispatch_alarms (
    alarm_id uuid primary key,
    region text not null,
    priority smallint not null check (priority between 1 and 4),
    body jsonb not null,  -- the AlarmAccepted message as received
    state text not null check (state in ('pending', 'queued', 'assigned', 'done')),
    queued_reason text,
    received_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index dispatch_alarms_open_idx on dispatch_alarms (priority, received_at)
    where state <> 'done';

-- Every answer from a terminal and every arrival detected from GPS, as received.
create table work_order_events (
    message_id uuid primary key,
    work_order_id uuid not null,
    unit_id text not null,
    kind text not null,
    source text not null,
    occurred_at timestamptz not null,
    recorded_at timestamptz not null default now()
);
create index work_order_events_order_idx on work_order_events (work_order_id, occurred_at);
