//! Synthetic ledgers for benchmarks: N tasks spread over the townships already loaded (by area),
//! with the mix of families, statuses, geometry types and dates of a real campaign. Rows are
//! written in bulk with the per-row triggers switched off (their work is done in the same SQL
//! instead), so a million tasks take a minute or two rather than an hour; it therefore needs a
//! superuser connection, as the private clusters give.

use crate::store::Db;

/// Tasks per INSERT statement: large enough to amortise, small enough to show progress.
const BATCH: i64 = 50_000;

pub async fn generate(db: &Db, tasks: i64, seed: f64, progress: impl Fn(i64, i64)) -> Result<(), sqlx::Error> {
    let mut done = 0;
    let mut batch_no = 0;
    while done < tasks {
        let n = BATCH.min(tasks - done);
        let mut tx = db.begin().await?;
        // Skips the triggers (code counters, township assignment, version bumps) for this
        // transaction only; the INSERT below fills those columns itself.
        sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await?;
        sqlx::query("SELECT setseed($1)")
            .bind((seed + batch_no as f64 * 0.0001).fract() * 2.0 - 1.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(SYNTH_SQL).bind(n).execute(&mut *tx).await?;
        tx.commit().await?;
        done += n;
        batch_no += 1;
        progress(done, tasks);
    }
    // The triggers that keep the map's cell counts were off too: recount them once.
    sqlx::query("SELECT task_cells_rebuild()").execute(db).await?;
    // Rows are written township by township in random order within each, so the tasks under one
    // tile or box lie on thousands of pages. Ordering the table along the spatial index puts them
    // on a few hundred, as a ledger that is clustered from time to time (README, "Maintenance")
    // would be; measured, a crowded tile's statement ran 10-25 % faster.
    sqlx::query("CLUSTER tasks USING tasks_geom_gist").execute(db).await?;
    sqlx::query("ANALYZE tasks").execute(db).await?;
    sqlx::query("ANALYZE task_cells").execute(db).await?;
    Ok(())
}

/// One batch of $1 tasks. Points are drawn inside each township in proportion to its area; a
/// tenth become short river stretches and a tenth small areas around the point, and those are
/// assigned by `township_for` like any saved task.
const SYNTH_SQL: &str = r#"
WITH tw AS (
    SELECT code, boundary, ST_Area(boundary::geography) AS area FROM townships
), alloc AS (
    SELECT code, boundary, greatest(1, round($1 * area / sum(area) OVER ()))::int AS n FROM tw
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
"#;
