-- Length of line tasks and area of polygon tasks, on the ellipsoid, stored with the row: the
-- township rollup sums them over up to a million tasks, and computing geodesic measures at query
-- time cost more than everything else in the rollup together. Generated columns cannot drift from
-- the geometry, whichever path writes it (API, seed, bulk load).
ALTER TABLE tasks
    ADD COLUMN length_m double precision
        GENERATED ALWAYS AS (CASE WHEN ST_Dimension(geom) = 1 THEN ST_Length(geom::geography) END) STORED,
    ADD COLUMN area_m2 double precision
        GENERATED ALWAYS AS (CASE WHEN ST_Dimension(geom) = 2 THEN ST_Area(geom::geography) END) STORED;
