//! Failed-login counts (`login_failures`), shared by every instance of the service. The database's
//! clock is the only clock: instances whose clocks differ still agree on a window.

use super::Db;

/// The counts under `keys` with each one's age in seconds, as (key, count, age).
pub async fn counts(db: &Db, keys: &[String]) -> Result<Vec<(String, i32, f64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT key, count, extract(epoch FROM now() - since)::float8 AS "age!"
           FROM login_failures WHERE key = ANY($1)"#,
        keys
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.key, r.count, r.age)).collect())
}

/// One more failure under each of `keys`: a count older than `window_secs` starts again at one.
/// Counts long past their window are swept here, where an attack makes rows, so the table stays
/// as large as the addresses of the last two windows (not the rows being counted: one statement may
/// not both delete and update a row).
pub async fn failed(db: &Db, keys: &[String], window_secs: f64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH swept AS (DELETE FROM login_failures
                        WHERE since < now() - make_interval(secs => $2::float8 * 2) AND key <> ALL($1))
         INSERT INTO login_failures (key, count, since) SELECT k, 1, now() FROM unnest($1::text[]) k
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN login_failures.since > now() - make_interval(secs => $2::float8)
                        THEN login_failures.count + 1 ELSE 1 END,
           since = CASE WHEN login_failures.since > now() - make_interval(secs => $2::float8)
                        THEN login_failures.since ELSE now() END",
        keys,
        window_secs
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets the count under `key`.
pub async fn clear(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM login_failures WHERE key = $1", key).execute(db).await?;
    Ok(())
}
