-- depends: 0045.alarm_board_by_source
-- An integration's updates and cancels of the alarms it reported (issue 19, decision 0115):
-- one row per (source, update_id), so a repeat is the same update and gets its first answer.
create table alarm_updates (
    source text not null,
    update_id text not null,
    alarm_id uuid not null references alarms (alarm_id),
    kind text not null check (kind in ('update', 'cancel')),
    body_sha256 bytea not null,
    answer jsonb not null,
    received_at timestamptz not null,
    primary key (source, update_id)
);
create index alarm_updates_alarm_idx on alarm_updates (alarm_id);
