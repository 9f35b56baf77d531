-- depends: 0002.alarms
-- The outbox: what a service must publish is written in the same transaction as its state,
-- and a relay publishes it in id order (at least once; consumers deduplicate by message id).
create table outbox (
    id bigserial primary key,
    stream text not null,          -- which service's relay publishes it: 'alarm', 'dispatch'...
    topic text not null,
    key bytea,
    value bytea not null,
    created_at timestamptz not null default now()
);
create index outbox_stream_idx on outbox (stream, id);

-- Idempotent consumers: a message id is recorded in the same transaction as its effect.
create table processed_messages (
    consumer text not null,
    message_id uuid not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, message_id)
);
