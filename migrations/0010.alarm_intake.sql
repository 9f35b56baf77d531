-- depends: 0005.city_fingerprint
-- Alarm intake: what duplicate detection, the command centre's board and the timeline need.

-- open alarms near a new one in time (duplicate calls); lat/lon are filtered on the rows found
create index alarms_open_reported_idx on alarms (reported_at)
    where status in ('accepted', 'assigned', 'on_scene');
-- the board, paged by (received_at, alarm_id)
create index alarms_board_idx on alarms (status, received_at, alarm_id);
create index alarms_open_board_idx on alarms (received_at, alarm_id)
    where status in ('accepted', 'assigned', 'on_scene');

-- the work orders of each alarm as the alarm service has seen them on dispatch.workorders, so a
-- unit's event (which names only its work order) finds its alarm
create table alarm_work_orders (
    work_order_id uuid primary key,
    alarm_id uuid not null references alarms (alarm_id),
    unit_id text not null,
    role text not null,
    open boolean not null default true
);
create index alarm_work_orders_alarm_idx on alarm_work_orders (alarm_id) where open;
