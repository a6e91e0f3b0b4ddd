//! The security audit trail (security_events): appended to as things happen, read by
//! administrators newest first. The table refuses UPDATE and DELETE itself (see migrations).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::audit::{AuditFilter, SecurityEvent};

pub async fn record<'e>(conn: impl sqlx::PgExecutor<'e>, e: &SecurityEvent) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO security_events (kind, actor_id, username, subject_id, address, user_agent, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        e.kind.as_str(),
        e.actor,
        e.username,
        e.subject,
        e.address,
        e.user_agent,
        &e.detail
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An event as administrators read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// One of the kinds of `SecurityEventKind`.
    pub kind: String,
    /// Who acted (for a failed login, the name as typed).
    pub username: String,
    pub actor_id: Option<Uuid>,
    /// The account acted upon, when not the actor.
    pub subject_id: Option<Uuid>,
    pub subject_username: Option<String>,
    pub address: String,
    pub user_agent: String,
    /// What else is worth knowing: the export and its filter, the fields of an account changed.
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// The events that pass the filter, newest first. `username` matches the actor or the account
/// acted upon.
pub async fn list(db: &super::Db, f: &AuditFilter) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let kinds: Option<Vec<String>> = f.kinds.as_ref().map(|ks| ks.iter().map(|k| k.as_str().to_owned()).collect());
    sqlx::query_as!(
        AuditEntry,
        r#"SELECT e.id, e.at, e.kind, e.username, e.actor_id, e.subject_id, s.username AS "subject_username?",
                  e.address, e.user_agent, e.detail
           FROM security_events e LEFT JOIN users s ON s.id = e.subject_id
           WHERE ($1::text[] IS NULL OR e.kind = ANY($1))
             AND ($2::timestamptz IS NULL OR e.at >= $2)
             AND ($3::timestamptz IS NULL OR e.at < $3)
             AND ($4::text IS NULL OR e.username = $4 OR s.username = $4)
             AND ($5::bigint IS NULL OR e.id < $5)
           ORDER BY e.id DESC
           LIMIT $6"#,
        kinds.as_deref(),
        f.since,
        f.until,
        f.username,
        f.before,
        f.limit
    )
    .fetch_all(db)
    .await
}
