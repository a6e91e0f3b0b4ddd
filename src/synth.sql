-- One batch of synthetic tasks, as many as the parameter asks (src/synth.rs says how they are drawn).
WITH tw AS (
    SELECT code, boundary, ST_Area(boundary::geography) AS area FROM townships
), alloc AS (
    SELECT code, boundary, greatest(1, round($1::int8 * area / sum(area) OVER ()))::int AS n FROM tw
), pts AS (
    SELECT a.code AS township, (ST_Dump(ST_GeneratePoints(a.boundary, a.n))).geom AS pt FROM alloc a
), rnd AS (
    SELECT township, pt, random() AS r_kind, random() AS r_cat, random() AS r_status, random() AS r_due,
           random() AS r_prog, random() AS r_inv, random() AS r_flag, random() AS r_done
    FROM pts LIMIT $1
), shaped AS (
    SELECT *,
           CASE WHEN r_kind < 0.1 THEN ST_MakeLine(ARRAY[pt, ST_Translate(pt, 0.004, 0.002),
                                                         ST_Translate(pt, 0.008, -0.001), ST_Translate(pt, 0.013, 0.001)])
                WHEN r_kind < 0.2 THEN ST_Buffer(pt, 0.0015, 'quad_segs=2')
                ELSE pt END AS geom,
           CASE WHEN r_cat < 0.35 THEN 'watershed' WHEN r_cat < 0.55 THEN 'chemical'
                WHEN r_cat < 0.75 THEN 'energy' ELSE 'village' END AS category,
           CASE WHEN r_status < 0.2 THEN 'planned' WHEN r_status < 0.55 THEN 'in_progress'
                WHEN r_status < 0.75 THEN 'completed' WHEN r_status < 0.95 THEN 'verified'
                ELSE 'cancelled' END AS status
    FROM rnd
), numbered AS (
    SELECT s.*, c.prefix, coalesce(k.last, 0) + row_number() OVER (PARTITION BY s.category) AS seq
    FROM shaped s JOIN categories c ON c.code = s.category
    LEFT JOIN task_code_counters k ON k.category = s.category AND k.year = 2026
), inserted AS (
INSERT INTO tasks (code, title, category, geom, township_code, status, progress, lead_unit, due_date,
                   planned_investment, actual_investment, visibility, supervised, completed_at, verified_at,
                   cancel_reason, last_report_at)
SELECT prefix || '-2026-' || lpad(seq::text, 7, '0'),
       '合成任务 ' || prefix || '-' || seq,
       category,
       geom,
       CASE WHEN GeometryType(geom) = 'POINT' THEN township ELSE coalesce(township_for(geom), township) END,
       status,
       CASE WHEN status IN ('completed', 'verified') THEN 100
            WHEN status = 'in_progress' THEN 5 + floor(r_prog * 90)::int
            ELSE floor(r_prog * 10)::int END,
       '合成责任单位',
       date '2026-03-01' + floor(r_due * 480)::int,
       round((5 + r_inv * 2000)::numeric, 2),
       CASE WHEN status <> 'planned' THEN round((r_inv * r_prog * 1800)::numeric, 2) END,
       CASE WHEN r_flag < 0.9 THEN 'public' ELSE 'internal' END,
       r_flag > 0.92,
       CASE WHEN status IN ('completed', 'verified')
            THEN timestamptz '2026-01-15 08:00+08' + (r_done * 300) * interval '1 day' END,
       CASE WHEN status = 'verified'
            THEN timestamptz '2026-01-15 08:00+08' + (r_done * 300 + 7) * interval '1 day' END,
       CASE WHEN status = 'cancelled' THEN '合成数据：取消' END,
       CASE WHEN status <> 'planned' THEN timestamptz '2026-01-01 00:00+08' + (r_prog * 320) * interval '1 day' END
FROM numbered
RETURNING category, split_part(code, '-', 3)::int AS seq
)
-- The counters the insert trigger would have kept, so codes stay unique for later tasks.
INSERT INTO task_code_counters AS k (category, year, last)
SELECT category, 2026, max(seq) FROM inserted GROUP BY category
ON CONFLICT (category, year) DO UPDATE SET last = greatest(k.last, EXCLUDED.last)
