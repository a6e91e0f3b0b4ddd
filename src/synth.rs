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
        sqlx::query!("SET LOCAL session_replication_role = replica").execute(&mut *tx).await?;
        // `SELECT FROM`: setseed returns void, which has no Rust type to decode into.
        sqlx::query!("SELECT FROM setseed($1)", (seed + batch_no as f64 * 0.0001).fract() * 2.0 - 1.0)
            .execute(&mut *tx)
            .await?;
        insert_batch(&mut tx, n).await?;
        tx.commit().await?;
        done += n;
        batch_no += 1;
        progress(done, tasks);
    }
    // The triggers that keep the map's cell counts were off too: recount them once.
    sqlx::query!("SELECT FROM task_cells_rebuild()").execute(db).await?;
    // Rows are written township by township in random order within each, so the tasks under one
    // tile or box lie on thousands of pages. Ordering the table along the spatial index puts them
    // on a few hundred, as a ledger that is clustered from time to time (README, "Maintenance")
    // would be; measured, a crowded tile's statement ran 10-25 % faster.
    sqlx::query!("CLUSTER tasks USING tasks_geom_gist").execute(db).await?;
    sqlx::query!("ANALYZE tasks").execute(db).await?;
    sqlx::query!("ANALYZE task_cells").execute(db).await?;
    Ok(())
}

/// One batch of `n` tasks (src/synth.sql). Points are drawn inside each township in proportion to its area; a
/// tenth become short river stretches and a tenth small areas around the point, and those are
/// assigned by `township_for` like any saved task.
async fn insert_batch(conn: &mut sqlx::PgConnection, n: i64) -> Result<(), sqlx::Error> {
    sqlx::query_file!("src/synth.sql", n).execute(conn).await?;
    Ok(())
}
