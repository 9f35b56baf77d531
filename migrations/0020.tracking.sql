-- depends: 0005.city_fingerprint
-- Patrol tracking. Tracks are partitioned by day (the service creates partitions ahead and
-- drops those older than its retention setting); arrivals and check-ins are its records.
create table tracks (
    unit_id text not null,
    fix_at timestamptz not null,
    lat double precision not null,
    lon double precision not null,
    speed_kmh double precision,
    heading_deg double precision,
    accuracy_m double precision,
    received_at timestamptz not null
) partition by range (fix_at);
create index tracks_unit_time_idx on tracks (unit_id, fix_at);

-- The work orders tracking follows (its own view of dispatch.workorders and
-- workorders.events), so a restart knows every open scene without asking dispatch.
create table tracking_work_orders (
    work_order_id uuid primary key,
    unit_id text not null,
    scene_lat double precision not null,
    scene_lon double precision not null,
    status text not null check (status in ('open', 'on_scene', 'closed')),
    updated_at timestamptz not null default now()
);
create index tracking_work_orders_open_idx on tracking_work_orders (unit_id)
    where status <> 'closed';

-- One arrival detected from GPS per work order, ever: the primary key is the guarantee.
create table gps_arrivals (
    work_order_id uuid primary key,
    unit_id text not null,
    arrived_at timestamptz not null,
    lat double precision not null,
    lon double precision not null,
    recorded_at timestamptz not null default now()
);

create table checkins (
    checkpoint_id text not null,
    unit_id text not null,
    platform_id text not null,
    arrived_at timestamptz not null,
    checked_in_at timestamptz not null,
    primary key (checkpoint_id, unit_id, arrived_at)
);
create index checkins_platform_time_idx on checkins (platform_id, checked_in_at);
