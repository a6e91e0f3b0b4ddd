-- Vector tiles, measured at a million tasks (BENCHMARKS.md, "Interop and scale"):
--
-- 1. Tiles are drawn in web mercator. Projecting every task of a tile at request time
--    (ST_Transform per row) was a third of a crowded tile's time, so the projected geometry is
--    stored beside `geom`, computed by PostgreSQL on every write. `geom` stays the one source of
--    truth and the one that is indexed: a tile still finds its tasks through `tasks_geom_gist`.
--
-- 2. Cells are kept for tile zoom 14 as well (tiles of zoom 19): a zoom-14 tile over a dense part
--    of a large ledger covers thousands of tasks, which took 40-80 ms and weighed half a megabyte as
--    single tasks; it now holds clusters like the zooms below it, and single tasks from zoom 15 on
--    (see src/domain/tile.rs). Same formula as before, one level more.

ALTER TABLE tasks ADD COLUMN geom_3857 geometry GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;

CREATE OR REPLACE FUNCTION task_cell_keys(g geometry) RETURNS TABLE (z smallint, cx integer, cy integer, x float8, y float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT l::smallint,
           floor((p.x + 20037508.342789244) / 40075016.68557849 * (2 ^ (l + 5)))::integer,
           floor((20037508.342789244 - p.y) / 40075016.68557849 * (2 ^ (l + 5)))::integer,
           p.x, p.y
    FROM (SELECT ST_X(q) AS x, ST_Y(q) AS y FROM ST_Transform(ST_PointOnSurface(g), 3857) AS q) p,
         generate_series(0, 14) AS l
$$;

SELECT task_cells_rebuild();
