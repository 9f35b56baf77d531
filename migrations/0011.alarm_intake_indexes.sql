-- depends: 0010.alarm_intake
-- alarms_open_idx (received_at, open alarms only) is a prefix of alarms_open_board_idx
-- (received_at, alarm_id, open alarms only): every query it served, the board index serves, and
-- each intake paid for keeping both (decision 0012).
drop index alarms_open_idx;
