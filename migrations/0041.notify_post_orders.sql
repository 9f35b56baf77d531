-- depends: 0040.notify
-- A reposition (go and patrol at a post, decision 0063) is delivered to the terminal like a
-- call's work order, and withdrawn like one; it belongs to no alarm.
alter table terminal_deliveries alter column alarm_id drop not null;
alter table terminal_deliveries drop constraint terminal_deliveries_action_check;
alter table terminal_deliveries add constraint terminal_deliveries_action_check
    check (action in ('assign', 'withdraw', 'reposition'));
