-- depends: 0031.dispatch_leases
-- Repositions (decision 0063): a unit sent to patrol at a post. It stays free for calls: a call's
-- work order supersedes its open reposition in the same transaction. At most one open per unit.
create table dispatch_repositions (
    work_order_id uuid primary key,
    unit_id text not null,
    platform_id text not null,
    post_id text not null,
    region text not null,
    lat double precision not null,
    lon double precision not null,
    reason text not null,  -- shift_plan | freed | move_up
    issued_at timestamptz not null,
    status text not null check (status in ('open', 'superseded', 'withdrawn')),
    reached_at timestamptz,
    ended_at timestamptz,
    ended_reason text
);
create unique index dispatch_repositions_one_open_per_unit on dispatch_repositions (unit_id)
    where status = 'open';
create index dispatch_repositions_issued_idx on dispatch_repositions (issued_at);
