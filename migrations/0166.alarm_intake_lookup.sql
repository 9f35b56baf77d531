-- depends: 0141.dispatch_pending_amendments
-- The alarm intake's lookup (decisions 0012, 0140, 0166): the alarms already recorded under a
-- batch's keys (source, source_alarm_id) and the open alarms inside its search boxes, as one
-- function so that its body is planned at every call, for the table as it is then. A plan cached
-- while `alarms` was empty once read every alarm of the source per key (0140); the intake set
-- `plan_cache_mode` around the lookup for that, a round trip more per batch while the batch holds
-- its merge locks. The SET clause keeps the function from being inlined into the caller's cached
-- plan, and keeps custom plans should a later PostgreSQL cache SQL functions' plans (18 does).
-- Each half is a lateral subquery per key or box kept apart by `offset 0`: an index lookup per
-- key, an index range scan on reported_at per box.
create function alarm_intake_lookup(keys text, boxes text)
returns table (
    repeat boolean,
    alarm_id uuid,
    region text,
    source text,
    source_alarm_id text,
    body_sha256 bytea,
    reported_at timestamptz,
    received_at timestamptz,
    caller_phone text,
    lat double precision,
    lon double precision,
    address text,
    category text,
    priority smallint,
    description text,
    tier text,
    target_seconds integer,
    status text,
    merged_into uuid,
    callers integer
)
language sql stable
set plan_cache_mode = force_custom_plan
as $$
    select true, a.alarm_id, a.region, a.source, a.source_alarm_id, a.body_sha256,
           a.reported_at, a.received_at, a.caller_phone, a.lat, a.lon, a.address, a.category,
           a.priority, a.description, a.tier, a.target_seconds, a.status, a.merged_into,
           a.callers
    from jsonb_to_recordset(keys::jsonb) as k(s text, i text)
    cross join lateral (
        select * from alarms where alarms.source = k.s and alarms.source_alarm_id = k.i
        offset 0
    ) as a
    union all
    select false, a.alarm_id, a.region, a.source, a.source_alarm_id, a.body_sha256,
           a.reported_at, a.received_at, a.caller_phone, a.lat, a.lon, a.address, a.category,
           a.priority, a.description, a.tier, a.target_seconds, a.status, a.merged_into,
           a.callers
    from jsonb_to_recordset(boxes::jsonb)
         as b(la0 float8, la1 float8, lo0 float8, lo1 float8, t timestamptz, w float8)
    cross join lateral (
        select * from alarms
        where alarms.status in ('accepted', 'assigned', 'on_scene')
          and alarms.reported_at between b.t - make_interval(secs => b.w)
                                     and b.t + make_interval(secs => b.w)
          and alarms.lat between b.la0 and b.la1 and alarms.lon between b.lo0 and b.lo1
        offset 0
    ) as a
$$;
