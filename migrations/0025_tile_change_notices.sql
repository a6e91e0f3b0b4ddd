-- Every change to tasks tells the service instances listening on channel `greenledger_tiles` which
-- area of the map it touched, so that each can drop exactly the cached tiles over that area (src/
-- tile_cache.rs). One notice per statement, not per row: a bulk import sends one. The payload is
-- the web-mercator extent of the rows before the change and, separately, after it ("xmin ymin xmax
-- ymax", boxes joined by ';'): a task moved across the county drops the tiles at both ends, not
-- all those between. TRUNCATE sends "all". Notices go out at commit, and not at all on rollback.
CREATE FUNCTION tasks_notify_tiles() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  before box2d;
  after box2d;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('greenledger_tiles', 'all');
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT ST_Extent(geom_3857) INTO before FROM old_rows;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    SELECT ST_Extent(geom_3857) INTO after FROM new_rows;
  END IF;
  IF before IS NOT NULL OR after IS NOT NULL THEN
    PERFORM pg_notify('greenledger_tiles', concat_ws(';',
      ST_XMin(before) || ' ' || ST_YMin(before) || ' ' || ST_XMax(before) || ' ' || ST_YMax(before),
      ST_XMin(after) || ' ' || ST_YMin(after) || ' ' || ST_XMax(after) || ' ' || ST_YMax(after)));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_tiles_inserted AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tasks_notify_tiles();
CREATE TRIGGER tasks_tiles_updated AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tasks_notify_tiles();
CREATE TRIGGER tasks_tiles_deleted AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tasks_notify_tiles();
CREATE TRIGGER tasks_tiles_truncated AFTER TRUNCATE ON tasks
  FOR EACH STATEMENT EXECUTE FUNCTION tasks_notify_tiles();
