-- depends: 0020.tracking
-- Day partitions of `tracks` made before decision 0186 are analyzed as the ones made since:
-- after a million rows since their last analysis (kj_tracking.adapters.tracks.ANALYZE_AFTER_ROWS),
-- not after 50, which analyzed a new partition every minute of its first hours at a province's
-- rate. Safe to run again.
do $$
declare
    part regclass;
begin
    for part in select inhrelid::regclass from pg_inherits where inhparent = 'tracks'::regclass loop
        execute format('alter table %s set (autovacuum_analyze_threshold = 1000000)', part);
    end loop;
end
$$;
