-- depends: 0003.outbox
-- Work orders (工单). The invariant that lives depend on: a unit never holds two open work
-- orders, and an alarm never has two open primary ones. The partial unique indexes are the
-- last guard behind the single dispatch writer per region.
create table work_orders (
    work_order_id uuid primary key,
    alarm_id uuid not null,
    unit_id text not null references units (unit_id),
    platform_id text not null references platforms (platform_id),
    role text not null check (role in ('primary', 'backup')),
    status text not null check (
        status in ('assigned', 'accepted', 'en_route', 'on_scene', 'closed', 'withdrawn', 'rejected')
    ),
    eta_seconds double precision not null check (eta_seconds >= 0),
    reason text not null,
    runner_up_unit_id text,
    runner_up_eta_seconds double precision,
    at_risk boolean not null default false,
    issued_at timestamptz not null,
    accept_by timestamptz not null,
    accepted_at timestamptz,
    en_route_at timestamptz,
    on_scene_at timestamptz,
    on_scene_source text check (on_scene_source in ('gps', 'terminal')),
    closed_at timestamptz,
    disposition_code text,
    withdrawn_at timestamptz,
    withdraw_reason text,
    response_seconds double precision,
    platform_seconds double precision,
    target_met boolean
);
create unique index work_orders_one_open_per_unit on work_orders (unit_id)
    where status in ('assigned', 'accepted', 'en_route', 'on_scene');
create unique index work_orders_one_open_primary_per_alarm on work_orders (alarm_id)
    where role = 'primary' and status in ('assigned', 'accepted', 'en_route', 'on_scene');
create index work_orders_alarm_idx on work_orders (alarm_id);
