-- depends: 0031.dispatch_leases 0010.alarm_intake
-- One response time everywhere (issue 16, decision 0033): `response_seconds` is judged against
-- the tier target from the platform's receipt of the 110 instruction to the unit on scene; the
-- citizen's total wait (the call -> on scene) is kept beside it. Rows measured before from the
-- call are moved: their old figure is the citizen's wait, the response is measured again.
alter table work_orders add column citizen_seconds double precision;

update work_orders w
   set citizen_seconds = w.response_seconds,
       response_seconds = greatest(extract(epoch from (w.on_scene_at - a.received_at)), 0),
       target_met = greatest(extract(epoch from (w.on_scene_at - a.received_at)), 0)
                    <= a.target_seconds
  from alarms a
 where a.alarm_id = w.alarm_id and w.response_seconds is not null;
