//! The bureau's review queue (待审核) and each user's marks of the reports they have seen.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Db, StoreError, StoreResult};
use crate::domain::review::{self, Flags, ItemKind};
use crate::domain::{Code, FieldError};

/// Each section lists at most this many items; `count` counts them all.
pub const SECTION_LIMIT: i64 = 200;

/// The task an item is about.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskRef {
    pub id: Uuid,
    pub code: String,
    pub title: String,
    pub township: String,
    pub township_name: String,
    pub status: String,
    pub progress: i16,
    pub due_date: Option<NaiveDate>,
    pub version: i32,
}

/// One thing the bureau should look at.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub kind: ItemKind,
    /// When it happened: the report's time, the completion, or the due date passed.
    pub at: DateTime<Utc>,
    pub task: TaskRef,
    /// The report (new reports and answers to returns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportRef>,
    /// Photo urls: the report's, or for a completion all of the task's reports'.
    pub photos: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Flags>,
    /// The evidence flags of the report and its photos, or for a completion of all the task's
    /// reports and photos, with their numbers (as GET /api/tasks/{id}/reports gives them).
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportRef {
    pub id: Uuid,
    pub author_name: String,
    pub action: Option<String>,
    pub progress: Option<i16>,
    pub note: String,
}

/// The queue: four sections and the number of items in all of them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queue {
    /// Everything waiting, for the badge.
    pub count: i64,
    /// Reports not yet marked seen, newest first.
    pub new_reports: Vec<Item>,
    /// Reports filed after the task was returned, not yet marked seen, newest first.
    pub return_answers: Vec<Item>,
    /// Completed tasks waiting for verification, oldest completion first.
    pub awaiting_verification: Vec<Item>,
    /// Open tasks past their due date with no report at all, longest overdue first.
    pub overdue_without_report: Vec<Item>,
}

struct Row {
    at: DateTime<Utc>,
    id: Uuid,
    code: String,
    title: String,
    township: String,
    township_name: String,
    status: String,
    progress: i16,
    due_date: Option<NaiveDate>,
    version: i32,
    photos: Json<Vec<String>>,
    evidence: Json<Vec<serde_json::Value>>,
    report_id: Option<Uuid>,
    author_name: Option<String>,
    action: Option<String>,
    report_progress: Option<i16>,
    note: Option<String>,
    after_return: bool,
    supervised: bool,
    late: bool,
}

impl Row {
    fn item(self, kind: ItemKind) -> Item {
        let report = self.report_id.map(|id| ReportRef {
            id,
            author_name: self.author_name.unwrap_or_default(),
            action: self.action,
            progress: self.report_progress,
            note: self.note.unwrap_or_default(),
        });
        let flags = (kind == ItemKind::AwaitingVerification).then_some(Flags {
            no_photo: self.photos.0.is_empty(),
            supervised: self.supervised,
            late: self.late,
            returned_before: self.after_return,
        });
        Item {
            kind,
            at: self.at,
            task: TaskRef {
                id: self.id,
                code: self.code,
                title: self.title,
                township: self.township,
                township_name: self.township_name,
                status: self.status,
                progress: self.progress,
                due_date: self.due_date,
                version: self.version,
            },
            report,
            photos: self.photos.0,
            flags,
            evidence: self.evidence.0,
        }
    }
}

/// A compile-checked query of queue `Row`s: when the item happened (`$at`), the task's columns, then
/// the rest of the statement (photos, report, returned before; FROM). A macro rather than consts, as
/// the checked queries take only string literals.
macro_rules! query_rows {
    ($at:literal, $($rest:literal)+ ; $($arg:expr),*) => {
        sqlx::query_as!(
            Row,
            "SELECT " + $at + r#" AS "at!", t.id, t.code, t.title, t.township_code AS township,
                    tw.name AS township_name, t.status, t.progress, t.due_date, t.version, t.supervised,
                    coalesce(t.completed_at::date > t.due_date, false) AS "late!", "# $(+ $rest)+,
            $($arg),*
        )
    };
}

/// A section of tasks, with all their reports' photos: `$at`, the tasks (FROM and WHERE) and their
/// order.
macro_rules! query_section {
    ($at:literal, $from:literal, $order:literal) => {
        query_rows!(
            $at,
            r#"coalesce((SELECT json_agg('/api/photos/' || p.sha256 ORDER BY r.created_at, p.position)
                         FROM report_photos p JOIN reports r ON r.id = p.report_id WHERE r.task_id = t.id), '[]')
                   AS "photos!: Json<Vec<String>>",
               coalesce((SELECT jsonb_agg(f ORDER BY r.created_at) FROM reports r, jsonb_array_elements(r.flags) f
                         WHERE r.task_id = t.id), '[]')
               || coalesce((SELECT jsonb_agg(f ORDER BY r.created_at, p.position)
                            FROM report_photos p JOIN reports r ON r.id = p.report_id, jsonb_array_elements(p.flags) f
                            WHERE r.task_id = t.id), '[]') AS "evidence!: Json<Vec<serde_json::Value>>",
               NULL::uuid AS "report_id?", NULL AS "author_name?", NULL AS "action?",
               NULL::smallint AS "report_progress?", NULL AS "note?",
               EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.action = 'return')
                   AS "after_return!"
             "# $from " ORDER BY " $order " LIMIT $1";
            SECTION_LIMIT
        )
    };
}

/// The queue as `user` sees it. A new report is one the user did not write and has not marked
/// seen, on a task still under way or waiting for verification (reports on verified or cancelled
/// tasks need no one any more); `count` counts the same items.
pub async fn queue(db: &Db, user: Uuid) -> StoreResult<Queue> {
    let reports = query_rows!(
        "r.created_at",
        r#"coalesce((SELECT json_agg('/api/photos/' || p.sha256 ORDER BY p.position)
                     FROM report_photos p WHERE p.report_id = r.id), '[]') AS "photos!: Json<Vec<String>>",
           r.flags || coalesce((SELECT jsonb_agg(f ORDER BY p.position)
                                FROM report_photos p, jsonb_array_elements(p.flags) f WHERE p.report_id = r.id), '[]')
               AS "evidence!: Json<Vec<serde_json::Value>>",
           r.id AS "report_id?", u.display_name AS "author_name?", r.action, r.progress AS report_progress,
           r.note AS "note?",
           EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.action = 'return' AND e.at < r.created_at)
               AS "after_return!"
         FROM reports r JOIN tasks t ON t.id = r.task_id
         JOIN users u ON u.id = r.author_id JOIN townships tw ON tw.code = t.township_code
         WHERE r.author_id <> $1 AND t.status IN ('planned', 'in_progress', 'completed')
           AND NOT EXISTS (SELECT 1 FROM report_seen s WHERE s.user_id = $1 AND s.report_id = r.id)
         ORDER BY r.created_at DESC, r.id LIMIT $2"#;
        user,
        SECTION_LIMIT * 2
    )
    .fetch_all(db)
    .await?;
    let (mut new_reports, mut return_answers) = (Vec::new(), Vec::new());
    for row in reports {
        let kind = review::report_kind(row.after_return);
        let section = if kind == ItemKind::ReturnAnswered { &mut return_answers } else { &mut new_reports };
        section.push(row.item(kind));
    }
    new_reports.truncate(SECTION_LIMIT as usize);
    return_answers.truncate(SECTION_LIMIT as usize);
    let awaiting = query_section!(
        "t.completed_at",
        "FROM tasks t JOIN townships tw ON tw.code = t.township_code WHERE t.status = 'completed'",
        "t.completed_at, t.id"
    )
    .fetch_all(db)
    .await?;
    let overdue = query_section!(
        "t.due_date::timestamptz",
        "FROM tasks t JOIN townships tw ON tw.code = t.township_code
         WHERE t.status IN ('planned', 'in_progress') AND t.due_date < current_date AND t.last_report_at IS NULL",
        "t.due_date, t.id"
    )
    .fetch_all(db)
    .await?;
    Ok(Queue {
        count: count(db, user).await?,
        new_reports,
        return_answers,
        awaiting_verification: awaiting.into_iter().map(|r| r.item(ItemKind::AwaitingVerification)).collect(),
        overdue_without_report: overdue.into_iter().map(|r| r.item(ItemKind::OverdueWithoutReport)).collect(),
    })
}

/// How many items wait for `user`, in all sections: the same conditions as `queue`'s statements.
pub async fn count(db: &Db, user: Uuid) -> StoreResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT
             (SELECT count(*) FROM reports r JOIN tasks t ON t.id = r.task_id
                JOIN users u ON u.id = r.author_id JOIN townships tw ON tw.code = t.township_code
                WHERE r.author_id <> $1 AND t.status IN ('planned', 'in_progress', 'completed')
                  AND NOT EXISTS (SELECT 1 FROM report_seen s WHERE s.user_id = $1 AND s.report_id = r.id))
           + (SELECT count(*) FROM tasks t JOIN townships tw ON tw.code = t.township_code WHERE t.status = 'completed')
           + (SELECT count(*) FROM tasks t JOIN townships tw ON tw.code = t.township_code
                WHERE t.status IN ('planned', 'in_progress') AND t.due_date < current_date
                  AND t.last_report_at IS NULL)
             AS "count!""#,
        user
    )
    .fetch_one(db)
    .await?)
}

/// Marks reports seen by `user` (again is harmless). Every id must name a report; otherwise
/// nothing is marked. Answers how many were newly marked.
pub async fn mark_seen(db: &Db, user: Uuid, reports: &[Uuid]) -> StoreResult<u64> {
    let known = sqlx::query_scalar!("SELECT id FROM reports WHERE id = ANY($1)", reports).fetch_all(db).await?;
    let unknown: Vec<FieldError> = reports
        .iter()
        .enumerate()
        .filter(|(_, id)| !known.contains(id))
        .map(|(i, id)| {
            FieldError::new(format!("/reports/{i}"), Code::UnknownValue, format!("there is no report {id}"))
                .with("got", id.to_string())
        })
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(unknown));
    }
    let done = sqlx::query!(
        "INSERT INTO report_seen (user_id, report_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING",
        user,
        reports
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
