-- depends: 0030.dispatch
-- Which dispatch process may decide for a region, and since which epoch (decision 0032). The
-- process the consumer group gives a region's partition takes the lease (epoch + 1); every
-- transaction that assigns, queues or withdraws checks, under a share lock, that its epoch is
-- still the region's: a paused or revoked process finds it moved on and stands down.
create table dispatch_leases (
    region text primary key,
    epoch bigint not null,
    owner text not null,
    taken_at timestamptz not null default now()
);
