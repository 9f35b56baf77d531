-- depends: 0001.city
-- Alarms (警情) as the alarm service records them. One alarm per (source, source_alarm_id):
-- a 110 integration that retries never creates a second one.
create table alarms (
    alarm_id uuid primary key,
    region text not null,
    source text not null,
    source_alarm_id text not null,
    body_sha256 bytea not null,
    reported_at timestamptz not null,
    received_at timestamptz not null,
    caller_phone text,
    lat double precision not null check (lat between -90 and 90),
    lon double precision not null check (lon between -180 and 180),
    address text,
    category text not null,
    priority smallint not null check (priority between 1 and 4),
    description text,
    tier text not null check (tier in ('key_location', 'central_city', 'other_city', 'county')),
    target_seconds integer not null check (target_seconds > 0),
    status text not null
        check (status in ('accepted', 'merged', 'diverted', 'assigned', 'on_scene', 'closed')),
    merged_into uuid references alarms (alarm_id),
    callers integer not null default 1 check (callers >= 1),
    constraint alarms_one_per_source_id unique (source, source_alarm_id),
    constraint alarms_merged_has_target check ((status = 'merged') = (merged_into is not null))
);
create index alarms_open_idx on alarms (received_at)
    where status in ('accepted', 'assigned', 'on_scene');

create table alarm_timeline (
    id bigserial primary key,
    alarm_id uuid not null references alarms (alarm_id),
    kind text not null,
    at timestamptz not null,
    unit_id text,
    work_order_id uuid,
    detail jsonb not null default '{}'::jsonb,
    event_id uuid unique
);
create index alarm_timeline_alarm_idx on alarm_timeline (alarm_id, at);
