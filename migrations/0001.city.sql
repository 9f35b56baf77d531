-- The city's reference data (a bureau edits the files in cities/; `make seed` loads them).
create table tier_targets (
    region text not null,
    tier text not null check (tier in ('key_location', 'central_city', 'other_city', 'county')),
    target_seconds integer not null check (target_seconds > 0),
    primary key (region, tier)
);

create table platforms (
    platform_id text primary key,
    region text not null,
    name text not null,
    district text,
    lat double precision not null check (lat between -90 and 90),
    lon double precision not null check (lon between -180 and 180)
);

create table units (
    unit_id text primary key,
    platform_id text not null references platforms (platform_id),
    kind text not null check (kind in ('command_vehicle', 'car', 'motorcycle')),
    callsign text not null
);
create index units_platform_idx on units (platform_id);

create table zones (
    zone_id text primary key,
    region text not null,
    name text not null,
    tier text not null check (tier in ('key_location', 'central_city', 'other_city', 'county')),
    geometry jsonb not null
);

create table checkpoints (
    checkpoint_id text primary key,
    platform_id text not null references platforms (platform_id),
    name text not null,
    lat double precision not null check (lat between -90 and 90),
    lon double precision not null check (lon between -180 and 180),
    radius_m double precision not null check (radius_m > 0)
);
