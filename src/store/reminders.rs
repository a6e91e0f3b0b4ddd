//! Reminders (催办): the settings, each unit's channels, the daily run that makes one digest per
//! unit and day, the bureau's chases, each user's inbox, and the deliveries' queue.
//!
//! Exactly once: the day's run inserts its `reminder_runs` row first, in the transaction that makes
//! the digests, so a second instance waits for the first and then finds the day done, and a crash
//! leaves nothing half made. A unique index allows one digest per unit and day whatever happens.
//! Deliveries are rows claimed with `FOR UPDATE SKIP LOCKED` by whichever instance gets there
//! first and held until their outcome is written.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Db, StoreError, StoreResult};
use crate::domain::reminder::{ChannelsInput, DigestItem, RetryPolicy, SecretChange, Settings, UnitKind, masked_url};

pub async fn settings(db: &Db) -> Result<Settings, sqlx::Error> {
    sqlx::query_as!(Settings, r#"SELECT due_within_days, stale_after_days, run_at FROM reminder_settings"#)
        .fetch_one(db)
        .await
}

pub async fn set_settings(db: &Db, s: &Settings, actor: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE reminder_settings SET due_within_days = $1, stale_after_days = $2, run_at = $3,
                changed_at = now(), changed_by = $4",
        s.due_within_days,
        s.stale_after_days,
        s.run_at,
        actor
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A unit's channels as the administrator sees them: the robot's URL masked, its secret only
/// said to be there.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Channels {
    pub unit_kind: UnitKind,
    pub unit_code: String,
    /// The township's or department's name.
    pub unit_name: String,
    /// wecom or dingtalk; absent without a robot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot_kind: Option<String>,
    /// The robot's URL with its key shown by its last four characters only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot_url: Option<String>,
    /// Whether a DingTalk signing secret is stored (it is never shown).
    pub robot_secret_set: bool,
    pub emails: Vec<String>,
    pub changed_at: DateTime<Utc>,
}

/// Every unit with channels, townships first.
pub async fn channels(db: &Db) -> Result<Vec<Channels>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT c.unit_kind, c.unit_code, c.robot_kind, c.robot_url, c.robot_secret IS NOT NULL AS "secret_set!",
                  c.emails, c.changed_at,
                  coalesce(t.name, d.name_zh, c.unit_code) AS "unit_name!"
           FROM reminder_channels c
           LEFT JOIN townships t ON c.unit_kind = 'township' AND t.code = c.unit_code
           LEFT JOIN departments d ON c.unit_kind = 'department' AND d.code = c.unit_code
           ORDER BY c.unit_kind DESC, c.unit_code"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Channels {
            unit_kind: UnitKind::parse(&r.unit_kind).unwrap_or(UnitKind::Township),
            unit_code: r.unit_code,
            unit_name: r.unit_name,
            robot_kind: r.robot_kind,
            robot_url: r.robot_url.as_deref().map(masked_url),
            robot_secret_set: r.secret_set,
            emails: r.emails,
            changed_at: r.changed_at,
        })
        .collect())
}

/// The name of a township or department, or None when there is no such unit.
pub async fn unit_name(db: &Db, kind: UnitKind, code: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT name AS "name!" FROM townships WHERE $1 = 'township' AND code = $2
           UNION ALL SELECT name_zh FROM departments WHERE $1 = 'department' AND code = $2"#,
        kind.as_str(),
        code
    )
    .fetch_optional(db)
    .await
}

/// Sets a unit's channels (all of them: what is left out is removed), keeping the stored secret
/// when the input says so and the robot is still a DingTalk one. No robot and no address removes
/// the row.
pub async fn set_channels(db: &Db, kind: UnitKind, code: &str, c: &ChannelsInput, actor: Uuid) -> StoreResult<()> {
    if unit_name(db, kind, code).await?.is_none() {
        return Err(StoreError::NotFound(format!("there is no {} '{code}'", kind.as_str())));
    }
    if c.robot.is_none() && c.emails.is_empty() {
        sqlx::query!("DELETE FROM reminder_channels WHERE unit_kind = $1 AND unit_code = $2", kind.as_str(), code)
            .execute(db)
            .await?;
        return Ok(());
    }
    let robot = c.robot.as_ref();
    let (keep, secret) = match robot.map(|r| &r.secret) {
        Some(SecretChange::Keep) => (true, None),
        Some(SecretChange::Set(s)) => (false, Some(s.as_str())),
        Some(SecretChange::Clear) | None => (false, None),
    };
    sqlx::query!(
        "INSERT INTO reminder_channels AS c (unit_kind, unit_code, robot_kind, robot_url, robot_secret, emails, changed_by)
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN NULL ELSE $6 END, $7, $8)
         ON CONFLICT (unit_kind, unit_code) DO UPDATE SET
             robot_kind = EXCLUDED.robot_kind, robot_url = EXCLUDED.robot_url,
             robot_secret = CASE WHEN $5 AND EXCLUDED.robot_kind = 'dingtalk' THEN c.robot_secret
                                 ELSE EXCLUDED.robot_secret END,
             emails = EXCLUDED.emails, changed_at = now(), changed_by = EXCLUDED.changed_by",
        kind.as_str(),
        code,
        robot.map(|r| r.kind.as_str()),
        robot.map(|r| r.url.as_str()),
        keep,
        secret,
        &c.emails,
        actor
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What one day's run made.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub day: NaiveDate,
    /// False when the day had been run already (by this or another instance): nothing was made.
    pub ran: bool,
    pub digests: i64,
    pub deliveries: i64,
}

/// The day to run now, if any: today (county time) once its hour has come and nobody has run it.
pub async fn day_due(db: &Db) -> Result<Option<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT current_date AS "today!" FROM reminder_settings
           WHERE localtime >= run_at AND NOT EXISTS (SELECT FROM reminder_runs WHERE day = current_date)"#
    )
    .fetch_optional(db)
    .await
}

/// Today in the county's time zone (the connection's).
pub async fn today(db: &Db) -> Result<NaiveDate, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT current_date AS "today!""#).fetch_one(db).await
}

/// Makes `day`'s digests, once: one per township and department with anything to chase, each with
/// its deliveries. One set-based pass over the open tasks (see BENCHMARKS.md for a million).
pub async fn run_day(db: &Db, day: NaiveDate) -> Result<RunOutcome, sqlx::Error> {
    let mut tx = db.begin().await?;
    let claimed = sqlx::query_scalar!(
        "INSERT INTO reminder_runs (day) VALUES ($1) ON CONFLICT (day) DO NOTHING RETURNING day",
        day
    )
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        return Ok(RunOutcome { day, ran: false, digests: 0, deliveries: 0 });
    }
    let made = sqlx::query_file!("src/store/reminders_digest.sql", day).fetch_one(&mut *tx).await?;
    let (digests, deliveries) = (made.digests.unwrap_or(0), made.deliveries.unwrap_or(0));
    sqlx::query!(
        "UPDATE reminder_runs SET digests = $2, tasks = $3 WHERE day = $1",
        day,
        digests as i32,
        made.tasks.unwrap_or(0) as i32
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(RunOutcome { day, ran: true, digests, deliveries })
}

/// The task a chase is about, and who it goes to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Chased {
    /// The inbox items made, one per unit (the township, and the lead department if any).
    pub reminders: Vec<Uuid>,
    /// The units chased: `township:<code>`, `department:<code>`.
    pub units: Vec<String>,
    /// Deliveries queued to the units' robots and addresses.
    pub deliveries: i64,
}

/// Chases one open task by hand: an inbox item for its township and its lead department, their
/// deliveries, and a `chased` event in the task's history, in the caller's transaction.
pub async fn chase(tx: &mut sqlx::PgConnection, task: Uuid, message: &str, actor: Uuid) -> StoreResult<Chased> {
    let status = sqlx::query_scalar!("SELECT status FROM tasks WHERE id = $1 FOR UPDATE", task)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no task {task}")))?;
    if matches!(status.as_str(), "verified" | "cancelled") {
        return Err(StoreError::Conflict(format!("the task is {status}: there is nothing left to chase")));
    }
    let made = sqlx::query_file!("src/store/reminders_chase.sql", task, message, actor).fetch_one(&mut *tx).await?;
    let units = made.units.unwrap_or_default();
    let changes = serde_json::json!({ "units": units });
    let mut event = super::events::Event::new(task, Some(actor), "chased");
    event.reason = Some(message);
    event.changes = changes;
    super::events::record(&mut *tx, &event).await?;
    Ok(Chased { reminders: made.reminders.unwrap_or_default(), units, deliveries: made.deliveries.unwrap_or(0) })
}

/// One item of a user's inbox.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub id: Uuid,
    /// digest (the daily reminder) or chase (the bureau chasing one task).
    pub kind: String,
    pub unit_kind: UnitKind,
    pub unit_code: String,
    pub day: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    /// Digest: tasks per section (`due_soon`, `overdue`, `stale`, `returned`).
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
    /// Digest: the first tasks of each section; chase: the task.
    pub items: Vec<DigestItem>,
    /// Chase: the bureau's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Chase: who chased (display name, else username).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// A page of the inbox, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    /// Items not yet read by the caller (the badge).
    pub unread: i64,
    /// Items in the inbox.
    pub total: i64,
    pub items: Vec<InboxItem>,
}

/// The caller's inbox. Its unit is looked up in `users` itself (township_code, department_code) by
/// every query here, so the inbox follows an account moved to another unit and holds what the unit
/// got before the account existed.
pub async fn inbox(db: &Db, user: Uuid, limit: i64, offset: i64) -> Result<Inbox, sqlx::Error> {
    let counts = unread(db, user).await?;
    let rows = sqlx::query!(
        r#"SELECT r.id, r.kind, r.unit_kind, r.unit_code, r.day, r.created_at, r.counts, r.message,
                  r.items AS "items: Json<Vec<DigestItem>>",
                  EXISTS (SELECT FROM reminder_reads x WHERE x.user_id = u.id AND x.reminder_id = r.id) AS "read!",
                  nullif(coalesce(nullif(a.display_name, ''), a.username), '') AS from_name
           FROM users u JOIN reminders r ON (r.unit_kind = 'township' AND r.unit_code = u.township_code)
                                         OR (r.unit_kind = 'department' AND r.unit_code = u.department_code)
           LEFT JOIN users a ON a.id = r.created_by
           WHERE u.id = $1
           ORDER BY r.created_at DESC, r.id
           LIMIT $2 OFFSET $3"#,
        user,
        limit,
        offset
    )
    .fetch_all(db)
    .await?;
    let items = rows
        .into_iter()
        .map(|r| InboxItem {
            id: r.id,
            kind: r.kind,
            unit_kind: UnitKind::parse(&r.unit_kind).unwrap_or(UnitKind::Township),
            unit_code: r.unit_code,
            day: r.day,
            created_at: r.created_at,
            read: r.read,
            counts: r.counts,
            items: r.items.0,
            message: r.message,
            from: r.from_name,
        })
        .collect();
    Ok(Inbox { unread: counts.0, total: counts.1, items })
}

/// (unread, total) of the user's inbox.
pub async fn unread(db: &Db, user: Uuid) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT FROM reminder_reads x WHERE x.user_id = u.id AND x.reminder_id = r.id)) AS "unread!",
                  count(*) AS "total!"
           FROM users u JOIN reminders r ON (r.unit_kind = 'township' AND r.unit_code = u.township_code)
                                         OR (r.unit_kind = 'department' AND r.unit_code = u.department_code)
           WHERE u.id = $1"#,
        user
    )
    .fetch_one(db)
    .await?;
    Ok((row.unread, row.total))
}

/// Marks one item of the user's inbox read (again is fine); false when the inbox holds no such item.
pub async fn mark_read(db: &Db, user: Uuid, reminder: Uuid) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"WITH mine AS (
               SELECT r.id FROM users u JOIN reminders r ON (r.unit_kind = 'township' AND r.unit_code = u.township_code)
                                                        OR (r.unit_kind = 'department' AND r.unit_code = u.department_code)
               WHERE u.id = $1 AND r.id = $2
           ), marked AS (
               INSERT INTO reminder_reads (user_id, reminder_id) SELECT $1, id FROM mine ON CONFLICT DO NOTHING
           )
           SELECT count(*) AS "n!" FROM mine"#,
        user,
        reminder
    )
    .fetch_one(db)
    .await?;
    Ok(found > 0)
}

/// Marks every item of the user's inbox read; answers how many were newly marked.
pub async fn mark_all_read(db: &Db, user: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO reminder_reads (user_id, reminder_id)
         SELECT u.id, r.id FROM users u JOIN reminders r ON (r.unit_kind = 'township' AND r.unit_code = u.township_code)
                                                        OR (r.unit_kind = 'department' AND r.unit_code = u.department_code)
         WHERE u.id = $1
         ON CONFLICT DO NOTHING",
        user
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A delivery claimed for sending, with what it takes to send it.
#[derive(Debug)]
pub struct Outgoing {
    pub id: i64,
    pub channel: String,
    pub target: String,
    pub attempts: i32,
    pub kind: String,
    pub day: NaiveDate,
    pub unit_name: String,
    pub counts: serde_json::Value,
    pub items: Vec<DigestItem>,
    pub message: Option<String>,
    pub robot_kind: Option<String>,
    pub robot_url: Option<String>,
    pub robot_secret: Option<String>,
}

/// Claims the next delivery that is due, locked for the transaction: another instance skips it.
pub async fn claim(tx: &mut sqlx::PgConnection) -> Result<Option<Outgoing>, sqlx::Error> {
    let row = sqlx::query_file!("src/store/reminders_claim.sql").fetch_optional(&mut *tx).await?;
    Ok(row.map(|r| Outgoing {
        id: r.id,
        channel: r.channel,
        target: r.target,
        attempts: r.attempts,
        kind: r.kind,
        day: r.day,
        unit_name: r.unit_name.unwrap_or_default(),
        counts: r.counts,
        items: serde_json::from_value(r.items).unwrap_or_default(),
        message: r.message,
        robot_kind: r.robot_kind,
        robot_url: r.robot_url,
        robot_secret: r.robot_secret,
    }))
}

/// Writes a claimed delivery's outcome: sent, or failed with its error and the next attempt after
/// the policy's wait (or given up).
pub async fn finish(
    tx: &mut sqlx::PgConnection,
    out: &Outgoing,
    result: Result<(), String>,
    policy: &RetryPolicy,
) -> Result<(), sqlx::Error> {
    let attempts = out.attempts + 1;
    let (status, error, wait) = match &result {
        Ok(()) => ("sent", None, None),
        Err(e) => match policy.next_wait(attempts) {
            Some(wait) => ("pending", Some(e.as_str()), Some(wait.as_secs_f64())),
            None => ("failed", Some(e.as_str()), None),
        },
    };
    sqlx::query!(
        "UPDATE reminder_deliveries SET status = $2, attempts = $3, last_error = $4,
                sent_at = CASE WHEN $2 = 'sent' THEN now() END,
                next_attempt_at = CASE WHEN $5::float8 IS NOT NULL THEN now() + make_interval(secs => $5)
                                       ELSE next_attempt_at END
         WHERE id = $1",
        out.id,
        status,
        attempts,
        error,
        wait
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// A delivery as the administrator sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub reminder: Uuid,
    /// digest or chase.
    pub kind: String,
    pub unit_kind: UnitKind,
    pub unit_code: String,
    pub unit_name: String,
    pub day: NaiveDate,
    /// robot or email.
    pub channel: String,
    /// The address, for e-mail.
    pub target: String,
    /// pending (waiting for its first attempt or a retry), sent, or failed (given up).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The latest deliveries, newest first, of one status or all; failed ones first when all.
pub async fn deliveries(db: &Db, status: Option<&str>, limit: i64) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT d.id, d.reminder_id, r.kind, r.unit_kind, r.unit_code, r.day, d.channel, d.target, d.status,
                  d.attempts, d.last_error, CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
                  d.sent_at, d.created_at, coalesce(t.name, p.name_zh, r.unit_code) AS "unit_name!"
           FROM reminder_deliveries d JOIN reminders r ON r.id = d.reminder_id
           LEFT JOIN townships t ON r.unit_kind = 'township' AND t.code = r.unit_code
           LEFT JOIN departments p ON r.unit_kind = 'department' AND p.code = r.unit_code
           WHERE $1::text IS NULL OR d.status = $1
           ORDER BY d.status = 'failed' DESC, d.created_at DESC, d.id DESC
           LIMIT $2"#,
        status,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Delivery {
            id: r.id,
            reminder: r.reminder_id,
            kind: r.kind,
            unit_kind: UnitKind::parse(&r.unit_kind).unwrap_or(UnitKind::Township),
            unit_code: r.unit_code,
            unit_name: r.unit_name,
            day: r.day,
            channel: r.channel,
            target: r.target,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
            sent_at: r.sent_at,
            created_at: r.created_at,
        })
        .collect())
}

/// Deliveries by status, for /metrics.
pub async fn delivery_counts(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT s.status AS "status!", count(d.id) AS "n!"
           FROM (VALUES ('pending'), ('sent'), ('failed')) s(status)
           LEFT JOIN reminder_deliveries d ON d.status = s.status
           GROUP BY s.status ORDER BY s.status"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}
