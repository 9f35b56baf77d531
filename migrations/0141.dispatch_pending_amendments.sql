-- depends: 0125.integration_registry
-- An alarm's update or cancel read by a dispatch process that did not hold the alarm's region
-- (the seconds of a hand-over, a fenced replica): kept here, in the transaction that recorded
-- it as processed, until the region's holder applies it at take-over or its next reconcile,
-- through the same code as a live one (decision 0141). Deleted in the transaction that applies
-- it; gone with its alarm.
create table dispatch_pending_amendments (
    seq bigint generated always as identity primary key,
    message_id uuid not null unique,
    alarm_id uuid not null references dispatch_alarms (alarm_id) on delete cascade,
    region text not null,
    body jsonb not null,  -- the AlarmAccepted with its amendment, as received
    received_at timestamptz not null default now()
);
create index dispatch_pending_amendments_region_idx on dispatch_pending_amendments (region, seq);
