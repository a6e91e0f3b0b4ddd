//! The audit trail: every change to a task, appended in the same transaction as the change. The
//! table refuses UPDATE and DELETE itself (see migrations), so history cannot be rewritten.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Db;

/// One event to record.
pub struct Event<'a> {
    pub task: Uuid,
    pub actor: Option<Uuid>,
    pub kind: &'static str,
    pub action: Option<&'a str>,
    pub status_before: Option<&'a str>,
    pub status_after: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub report: Option<Uuid>,
    pub changes: Value,
}

impl<'a> Event<'a> {
    pub fn new(task: Uuid, actor: Option<Uuid>, kind: &'static str) -> Self {
        Event {
            task,
            actor,
            kind,
            action: None,
            status_before: None,
            status_after: None,
            reason: None,
            report: None,
            changes: Value::Object(Default::default()),
        }
    }
}

pub async fn record(conn: &mut PgConnection, e: &Event<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO task_events (task_id, actor_id, kind, action, status_before, status_after, reason, report_id, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        e.task,
        e.actor,
        e.kind,
        e.action,
        e.status_before,
        e.status_after,
        e.reason,
        e.report,
        &e.changes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An event as the history endpoint shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    /// created, updated, reported, transition, or chased (the bureau chasing the task: `reason` holds its words, `changes.units` whom it went to).
    pub kind: String,
    /// start, complete, verify, return, cancel, supervise, unsupervise.
    pub action: Option<String>,
    pub status_before: Option<String>,
    pub status_after: Option<String>,
    /// Who (username); absent for the public and for changes made by the system (demo loader).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// Why (return and cancel), for those who may read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What changed: `{field: {"before": .., "after": ..}}`, or the report's progress and note.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Uuid>,
}

/// The task's history, oldest first. `full` is for staff and the task's own township; others see
/// only the moments its status changed, with no names, reasons or notes.
pub async fn history(db: &Db, task: Uuid, full: bool) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        "SELECT e.at, e.kind, e.action, e.status_before, e.status_after,
                CASE WHEN $2 THEN u.username END AS actor,
                CASE WHEN $2 THEN u.display_name END AS actor_name,
                CASE WHEN $2 THEN e.reason END AS reason,
                CASE WHEN $2 AND e.changes <> '{}' THEN e.changes END AS changes,
                CASE WHEN $2 THEN e.report_id END AS report
         FROM task_events e LEFT JOIN users u ON u.id = e.actor_id
         WHERE e.task_id = $1
           AND ($2 OR e.kind = 'created' OR e.status_before IS DISTINCT FROM e.status_after)
         ORDER BY e.id",
        task,
        full
    )
    .fetch_all(db)
    .await
}

/// `created` events for many tasks at once (bulk import): `changes` are the tasks' initial values
/// as JSON text, as `record` stores them for a single create.
pub async fn record_created(
    conn: &mut PgConnection,
    tasks: &[Uuid],
    statuses: &[String],
    changes: &[String],
    actor: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO task_events (task_id, actor_id, kind, status_after, changes)
         SELECT u.id, $4, 'created', u.status, u.changes::jsonb
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, status, changes)",
        tasks,
        statuses,
        changes,
        actor
    )
    .execute(conn)
    .await?;
    Ok(())
}
