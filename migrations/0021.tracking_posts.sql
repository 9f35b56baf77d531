-- depends: 0020.tracking
-- A reposition (go and patrol at a post, decision 0063) is followed like a call's work order:
-- its post, so a restart still knows where the unit is headed, and its arrival (gps_arrivals).
alter table tracking_work_orders add column post_id text;
alter table tracking_work_orders add column patrol_radius_m double precision;
