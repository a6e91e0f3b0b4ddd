-- numberMatched of a box (src/store/task_count.rs) adds to the box's inner cells the tasks along its
-- edges whose point is in no inner cell. Which cell a task's point lies in was computed per request
-- (point on surface, projected to web mercator: about 8 µs a task), and a box half the county's side
-- at a million tasks meets some 9,000 tasks along its edges, mostly river lines and areas reaching
-- into the inner cells: 60-140 ms. Each task's level-14 cell is now stored beside it.
--
-- The columns are generated from `geom` by PostgreSQL on every write, whatever writes (the API, the
-- import, the synthetic ledger with its triggers off, a restore), so they cannot lag behind the
-- geometry. Their formula is task_cell_keys's (migrations 0005, 0006) at level 14 (2^(14 + 5)
-- columns), written out rather than called: the same float8 operations in the same order give the
-- same cell the cells were counted by, and a restore (pg_dump sets an empty search_path) can compute
-- an expression of qualified PostGIS functions but not a function of ours calling them unqualified.
--
-- Adding them rewrites the table once (two points on surface a task; BENCHMARKS.md gives the time
-- at a million tasks).

ALTER TABLE tasks
    ADD COLUMN cell14_x integer GENERATED ALWAYS AS (
        floor((ST_X(ST_Transform(ST_PointOnSurface(geom), 3857)) + 20037508.342789244)
              / 40075016.68557849 * (2 ^ (14 + 5)))::integer) STORED,
    ADD COLUMN cell14_y integer GENERATED ALWAYS AS (
        floor((20037508.342789244 - ST_Y(ST_Transform(ST_PointOnSurface(geom), 3857)))
              / 40075016.68557849 * (2 ^ (14 + 5)))::integer) STORED;
