//! The demo's year of work, written at once by the loader (`seed`): reports, their photos' rows,
//! the history and the bureau's marks of the reports it has read, each with the time its story
//! gives it, in the tables and under the rules the service writes them in (the history only
//! appended to, its events in the order they happened).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Db;
use super::events::Event;
use crate::domain::task::NewTask;

/// A transaction for writing the demo: the tasks' townships come from `townships`, set-based as
/// the import assigns them, rather than from the per-row trigger.
pub async fn begin(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!("SET LOCAL greenledger.bulk_assigned = 'on'").execute(&mut *tx).await?;
    Ok(tx)
}

/// The township each task goes to (its override, or the one holding it, as the import decides),
/// or why it cannot be stored.
pub async fn townships(db: &Db, tasks: &[&NewTask]) -> Result<Vec<Result<String, String>>, sqlx::Error> {
    let geojson: Vec<String> = tasks.iter().map(|t| t.geometry.to_geojson()).collect();
    let verdicts = super::import::verdicts(db, &geojson).await?;
    Ok(tasks
        .iter()
        .zip(verdicts)
        .map(|(t, v)| {
            if v.reason != "Valid Geometry" {
                return Err(super::geometry::invalid(&t.geometry, &v.reason).detail);
            }
            if v.beyond == Some(true) {
                return Err(v.message.unwrap_or_default());
            }
            t.fields.township_override.clone().or(v.township).ok_or_else(|| "the geometry touches no township".into())
        })
        .collect())
}

/// The ids of those of `ids` that are stored.
pub async fn present(db: &Db, ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM tasks WHERE id = ANY($1)", ids).fetch_all(db).await
}

/// The county's date today, its offset from UTC in seconds, and the instant.
pub async fn today(db: &Db) -> Result<(NaiveDate, i32, DateTime<Utc>), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT current_date AS "date!", extract(timezone FROM now())::int4 AS "offset!", now() AS "now!""#
    )
    .fetch_one(db)
    .await?;
    Ok((row.date, row.offset, row.now))
}

/// Accounts' ids by username.
pub async fn user_ids(db: &Db) -> Result<HashMap<String, Uuid>, sqlx::Error> {
    let rows = sqlx::query!("SELECT username, id FROM users").fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (r.username, r.id)).collect())
}

pub struct Report<'a> {
    pub id: Uuid,
    pub task: Uuid,
    pub author: Uuid,
    pub action: Option<&'static str>,
    pub progress: Option<i16>,
    pub note: &'a str,
    pub status_before: &'static str,
    pub status_after: &'static str,
    pub at: DateTime<Utc>,
}

/// A report's photo, stored by content hash (`reports::store_photos` writes the file).
pub struct Photo {
    pub report: Uuid,
    pub position: i16,
    pub sha256: String,
    pub media_type: &'static str,
    pub bytes: i32,
    /// before, during or after.
    pub stage: &'static str,
}

/// Everything the stories add besides the tasks' rows.
#[derive(Default)]
pub struct Past<'a> {
    pub reports: Vec<Report<'a>>,
    pub photos: Vec<Photo>,
    /// The history, each event with its time.
    pub events: Vec<(DateTime<Utc>, Event<'a>)>,
    /// Reports someone has marked seen: who, which, when.
    pub seen: Vec<(Uuid, Uuid, DateTime<Utc>)>,
}

/// Writes it all in the caller's transaction; events get their ids in the order they happened.
pub async fn write(conn: &mut PgConnection, past: &mut Past<'_>) -> Result<(), sqlx::Error> {
    reports(&mut *conn, &past.reports).await?;
    photos(&mut *conn, &past.photos).await?;
    past.events.sort_by_key(|(at, _)| *at);
    events(&mut *conn, &past.events).await?;
    let (users, reports, at): (Vec<Uuid>, Vec<Uuid>, Vec<DateTime<Utc>>) =
        past.seen.iter().map(|&(u, r, at)| (u, r, at)).collect();
    sqlx::query!(
        "INSERT INTO report_seen (user_id, report_id, seen_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[])",
        &users,
        &reports,
        &at
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn reports(conn: &mut PgConnection, reports: &[Report<'_>]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO reports (id, task_id, author_id, action, progress, note, status_before, status_after, created_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int2[], $6::text[], $7::text[],
                              $8::text[], $9::timestamptz[])",
        &reports.iter().map(|r| r.id).collect::<Vec<_>>(),
        &reports.iter().map(|r| r.task).collect::<Vec<_>>(),
        &reports.iter().map(|r| r.author).collect::<Vec<_>>(),
        &reports.iter().map(|r| r.action.map(str::to_owned)).collect::<Vec<_>>() as _,
        &reports.iter().map(|r| r.progress).collect::<Vec<_>>() as _,
        &reports.iter().map(|r| r.note.to_owned()).collect::<Vec<_>>(),
        &reports.iter().map(|r| r.status_before.to_owned()).collect::<Vec<_>>(),
        &reports.iter().map(|r| r.status_after.to_owned()).collect::<Vec<_>>(),
        &reports.iter().map(|r| r.at).collect::<Vec<_>>()
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn photos(conn: &mut PgConnection, photos: &[Photo]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO report_photos (report_id, position, sha256, media_type, bytes, stage)
         SELECT * FROM unnest($1::uuid[], $2::int2[], $3::text[], $4::text[], $5::int4[], $6::text[])",
        &photos.iter().map(|p| p.report).collect::<Vec<_>>(),
        &photos.iter().map(|p| p.position).collect::<Vec<_>>(),
        &photos.iter().map(|p| p.sha256.clone()).collect::<Vec<_>>(),
        &photos.iter().map(|p| p.media_type.to_owned()).collect::<Vec<_>>(),
        &photos.iter().map(|p| p.bytes).collect::<Vec<_>>(),
        &photos.iter().map(|p| p.stage.to_owned()).collect::<Vec<_>>()
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn events(conn: &mut PgConnection, events: &[(DateTime<Utc>, Event<'_>)]) -> Result<(), sqlx::Error> {
    let text = |f: for<'e> fn(&'e Event) -> Option<&'e str>| {
        events.iter().map(|(_, e)| f(e).map(str::to_owned)).collect::<Vec<_>>()
    };
    sqlx::query!(
        "INSERT INTO task_events (task_id, at, actor_id, kind, action, status_before, status_after, reason, report_id, changes)
         SELECT task, at, actor, kind, action, status_before, status_after, reason, report, changes::jsonb
         FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::uuid[], $10::text[])
              WITH ORDINALITY AS u(task, at, actor, kind, action, status_before, status_after, reason, report, changes, n)
         ORDER BY n",
        &events.iter().map(|(_, e)| e.task).collect::<Vec<_>>(),
        &events.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
        &events.iter().map(|(_, e)| e.actor).collect::<Vec<_>>() as _,
        &events.iter().map(|(_, e)| e.kind.to_owned()).collect::<Vec<_>>(),
        &text(|e| e.action) as _,
        &text(|e| e.status_before) as _,
        &text(|e| e.status_after) as _,
        &text(|e| e.reason) as _,
        &events.iter().map(|(_, e)| e.report).collect::<Vec<_>>() as _,
        &events.iter().map(|(_, e)| e.changes.to_string()).collect::<Vec<_>>()
    )
    .execute(conn)
    .await?;
    Ok(())
}
