-- depends: 0031.dispatch_leases
-- Dispatchers' commands as dispatch applied or refused them (evidence of who asked for what,
-- and the idempotency of `command_id`), the duty a dispatcher set on a unit, and the `held`
-- state of an alarm a dispatcher keeps from automatic assignment (issue 17).
alter table dispatch_alarms drop constraint dispatch_alarms_state_check;
alter table dispatch_alarms add constraint dispatch_alarms_state_check
    check (state in ('pending', 'queued', 'assigned', 'held', 'done'));

create table dispatch_commands (
    command_id uuid primary key,
    kind text not null,
    region text not null,
    actor text not null,
    outcome text not null check (outcome in ('done', 'refused')),
    reason text,
    body jsonb not null,  -- the DispatchCommand as received
    issued_at timestamptz not null,
    handled_at timestamptz not null default now(),
    handled_by text not null  -- the dispatch instance that held the region's lease
);

-- A unit a dispatcher put off duty or out of service is kept out of every assignment until put
-- back on duty (one row per unit: its latest duty).
create table dispatch_unit_duty (
    unit_id text primary key references units (unit_id),
    duty text not null check (duty in ('on_duty', 'off_duty', 'out_of_service')),
    actor text not null,
    command_id uuid not null,
    set_at timestamptz not null default now()
);
