-- depends: 0011.alarm_intake_indexes
-- An integration reads only its own alarms (issue 14, decision 0072): the board is filtered by
-- source, so its two indexes lead with the source. They replace the ones that did not (the
-- same number of indexes, so an intake pays what it paid before).
drop index if exists alarms_board_idx;
drop index if exists alarms_open_board_idx;
create index alarms_board_idx on alarms (source, status, received_at, alarm_id);
create index alarms_open_board_idx on alarms (source, received_at, alarm_id)
    where status in ('accepted', 'assigned', 'on_scene');
