-- depends: 0004.work_orders
-- Which version of a city's files is loaded, so `make seed` can say when nothing changed.
create table city_versions (
    region text primary key,
    sha256 text not null,
    loaded_at timestamptz not null default now()
);
