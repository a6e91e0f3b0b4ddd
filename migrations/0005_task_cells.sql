-- Task counts per map cell, kept up to date by the database itself, so a vector tile at a low zoom
-- reads a few thousand precounted cells instead of every task under it (a county-wide tile over a
-- million tasks would otherwise scan them all and weigh megabytes).
--
-- A cell is 1/32 of a web-mercator (XYZ) tile side at tile zoom z, i.e. a tile of zoom z + 5. Cells
-- are split by what a viewer's access rule and the map's styling need: family, township and
-- visibility, with per-status counts. sx/sy sum the web-mercator coordinates of the tasks' points
-- on surface, so a cluster is drawn where its tasks are, not at the cell's corner.

CREATE TABLE task_cells (
    z             smallint NOT NULL,
    cx            integer  NOT NULL,
    cy            integer  NOT NULL,
    category      text     NOT NULL,
    township_code text     NOT NULL,
    visibility    text     NOT NULL,
    n             integer  NOT NULL,
    planned       integer  NOT NULL,
    in_progress   integer  NOT NULL,
    completed     integer  NOT NULL,
    verified      integer  NOT NULL,
    cancelled     integer  NOT NULL,
    supervised    integer  NOT NULL,
    sx            float8   NOT NULL,
    sy            float8   NOT NULL,
    PRIMARY KEY (z, cx, cy, category, township_code, visibility)
);

-- The cell of a geometry at every tile zoom that has cells (0-13; from 14 on tiles hold tasks).
CREATE FUNCTION task_cell_keys(g geometry) RETURNS TABLE (z smallint, cx integer, cy integer, x float8, y float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT l::smallint,
           floor((p.x + 20037508.342789244) / 40075016.68557849 * (2 ^ (l + 5)))::integer,
           floor((20037508.342789244 - p.y) / 40075016.68557849 * (2 ^ (l + 5)))::integer,
           p.x, p.y
    FROM (SELECT ST_X(q) AS x, ST_Y(q) AS y FROM ST_Transform(ST_PointOnSurface(g), 3857) AS q) p,
         generate_series(0, 13) AS l
$$;

-- The statement that adds (sign 1) or removes (sign -1) tasks from their cells, given a query over
-- rows with the tasks' columns and a `sign`. It is text for the triggers below to EXECUTE
-- themselves, as only the trigger function sees its transition tables. Keys are locked in one
-- order, so concurrent writers cannot deadlock on cells.
CREATE FUNCTION task_cells_sql(source text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN format($q$
        INSERT INTO task_cells AS c (z, cx, cy, category, township_code, visibility, n, planned, in_progress,
                                     completed, verified, cancelled, supervised, sx, sy)
        SELECT k.z, k.cx, k.cy, r.category, r.township_code, r.visibility, sum(r.sign),
               coalesce(sum(r.sign) FILTER (WHERE r.status = 'planned'), 0),
               coalesce(sum(r.sign) FILTER (WHERE r.status = 'in_progress'), 0),
               coalesce(sum(r.sign) FILTER (WHERE r.status = 'completed'), 0),
               coalesce(sum(r.sign) FILTER (WHERE r.status = 'verified'), 0),
               coalesce(sum(r.sign) FILTER (WHERE r.status = 'cancelled'), 0),
               coalesce(sum(r.sign) FILTER (WHERE r.supervised), 0),
               sum(r.sign * k.x), sum(r.sign * k.y)
        FROM (%s) r, LATERAL task_cell_keys(r.geom) k
        GROUP BY 1, 2, 3, 4, 5, 6
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (z, cx, cy, category, township_code, visibility) DO UPDATE SET
            n = c.n + EXCLUDED.n, planned = c.planned + EXCLUDED.planned,
            in_progress = c.in_progress + EXCLUDED.in_progress, completed = c.completed + EXCLUDED.completed,
            verified = c.verified + EXCLUDED.verified, cancelled = c.cancelled + EXCLUDED.cancelled,
            supervised = c.supervised + EXCLUDED.supervised, sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy
    $q$, source);
END
$$;

CREATE FUNCTION task_cells_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE task_cells_sql('SELECT *, 1 AS sign FROM task_cells_new');
    RETURN NULL;
END
$$;

CREATE FUNCTION task_cells_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Most updates (progress, reports, text) leave every cell as it was: only moved or restyled
    -- tasks are taken out of their old cells and put into their new ones. A cell left at zero
    -- stays (tiles skip it) until the next rebuild: deleting it here would cost a scan per edit.
    EXECUTE task_cells_sql(
        'WITH moved AS (
             SELECT n.id FROM task_cells_new n JOIN task_cells_old o ON o.id = n.id
             WHERE (n.geom, n.category, n.status, n.township_code, n.visibility, n.supervised)
                   IS DISTINCT FROM (o.geom, o.category, o.status, o.township_code, o.visibility, o.supervised))
         SELECT o.*, -1 AS sign FROM task_cells_old o JOIN moved m USING (id)
         UNION ALL
         SELECT n.*, 1 AS sign FROM task_cells_new n JOIN moved m USING (id)');
    RETURN NULL;
END
$$;

CREATE FUNCTION task_cells_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE task_cells_sql('SELECT *, -1 AS sign FROM task_cells_old');
    RETURN NULL;
END
$$;

CREATE TRIGGER task_cells_after_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS task_cells_new
    FOR EACH STATEMENT EXECUTE FUNCTION task_cells_after_insert();
CREATE TRIGGER task_cells_after_update AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS task_cells_old NEW TABLE AS task_cells_new
    FOR EACH STATEMENT EXECUTE FUNCTION task_cells_after_update();
CREATE TRIGGER task_cells_after_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS task_cells_old
    FOR EACH STATEMENT EXECUTE FUNCTION task_cells_after_delete();

-- Recounts every cell from the tasks: for loaders that write with triggers switched off (the
-- synthetic ledger generator).
CREATE FUNCTION task_cells_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_cells;
    EXECUTE task_cells_sql('SELECT *, 1 AS sign FROM tasks');
END
$$;

-- Cells of tasks already stored.
SELECT task_cells_rebuild();

-- The per-row assignment of codes and townships costs about 0.3 ms a task, half a minute for a
-- 100,000-task import. The import does the same work set-based (one join with the townships, one
-- counter update per family) and says so for its own transaction with
-- `SET LOCAL greenledger.bulk_assigned = 'on'`; every other write is assigned here as before.
-- Sequence numbers past 9999 keep all their digits (lpad would cut them to four).
CREATE OR REPLACE FUNCTION tasks_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    seq integer;
    yr integer;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.code IS NULL THEN
        yr := extract(year FROM current_date);
        INSERT INTO task_code_counters AS c (category, year, last) VALUES (NEW.category, yr, 1)
        ON CONFLICT (category, year) DO UPDATE SET last = c.last + 1
        RETURNING last INTO seq;
        SELECT prefix || '-' || yr || '-' || lpad(seq::text, greatest(4, length(seq::text)), '0') INTO NEW.code
        FROM categories WHERE code = NEW.category;
    END IF;

    -- Assignment costs an intersection with every touching township: redo it only when it can change.
    IF NOT NEW.township_overridden
       AND NOT (TG_OP = 'INSERT' AND NEW.township_code IS NOT NULL
                AND current_setting('greenledger.bulk_assigned', true) = 'on')
       AND (TG_OP = 'INSERT' OR OLD.township_overridden OR NEW.geom IS DISTINCT FROM OLD.geom) THEN
        NEW.township_code := township_for(NEW.geom);
        IF NEW.township_code IS NULL THEN
            IF township_for(ST_FlipCoordinates(NEW.geom)) IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'GL002',
                    MESSAGE = 'the geometry lies outside the county, but would lie inside it with '
                              'longitude and latitude swapped: GeoJSON positions are [longitude, latitude]';
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'GL001',
                MESSAGE = 'the geometry touches no township of the county';
        END IF;
    END IF;

    IF NEW.status IN ('completed', 'verified') THEN
        NEW.completed_at := coalesce(NEW.completed_at, now());
    ELSE
        NEW.completed_at := NULL;
    END IF;
    IF NEW.status = 'verified' THEN
        NEW.verified_at := coalesce(NEW.verified_at, now());
    ELSE
        NEW.verified_at := NULL;
    END IF;

    IF TG_OP = 'UPDATE' THEN
        -- Every stored change gets a new version: this is what If-Match compares against.
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
        NEW.created_at := OLD.created_at;
        NEW.code := OLD.code;
    END IF;
    RETURN NEW;
END
$$;
