-- depends: 0166.alarm_intake_lookup
-- transactional: false
-- The intake's lookup goes back to one cached statement (decision 0168, amends 0140 and 0166).
-- On an empty, never-analyzed `alarms` every index that leads with `source` costs the same for
-- `source = $1 and source_alarm_id = $2`, and PostgreSQL keeps the newest of equal paths: the
-- board index (0045) won, and the plan cached then filtered every alarm of the source per key.
-- The unique index is built again here, so that it is the newest index on `source` and wins that
-- tie; with statistics it wins on cost. An index that leads with `source` added after this one
-- would win the tie again: test_a_plan_made_while_the_table_was_empty_does_not_outlive_it says so.
-- Built concurrently, so intake keeps writing meanwhile; each step is safe to run again.
drop index concurrently if exists alarms_one_per_source_id_new;
create unique index concurrently alarms_one_per_source_id_new on alarms (source, source_alarm_id);
alter table alarms
    drop constraint alarms_one_per_source_id,
    add constraint alarms_one_per_source_id unique using index alarms_one_per_source_id_new;
drop function if exists alarm_intake_lookup(text, text);
