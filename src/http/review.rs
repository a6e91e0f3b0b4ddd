//! The bureau's review queue (待审核) over HTTP: the queue, its count for the badge, and marking
//! reports seen. Verifying and returning are the ordinary transitions (POST .../transitions).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use super::extract::JsonBody;
use crate::auth::Principal;
use crate::domain::fields::{self, Props};
use crate::domain::{Code, Message};
use crate::error::{ApiError, Problem, Result};
use crate::store::review::{self, Queue};

const TO_REVIEW: &str = "see the review queue";

/// What needs the bureau: new reports since last seen, answers to returned tasks, completions
/// waiting for verification (oldest first, with their photos and flags) and overdue tasks with
/// no report. Bureau staff only.
#[utoipa::path(get, path = "/api/review", tag = "workflow",
    responses(
        (status = 200, description = "The queue", body = Queue),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn queue(State(state): State<AppState>, principal: Principal) -> Result<Json<Queue>> {
    let user = principal.require_staff(TO_REVIEW)?;
    Ok(Json(review::queue(&state.db, user.id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Count {
    /// Items waiting in the queue.
    pub count: i64,
}

/// How many items wait in the queue (the badge).
#[utoipa::path(get, path = "/api/review/count", tag = "workflow",
    responses(
        (status = 200, description = "The count", body = Count),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn count(State(state): State<AppState>, principal: Principal) -> Result<Json<Count>> {
    let user = principal.require_staff(TO_REVIEW)?;
    Ok(Json(Count { count: review::count(&state.db, user.id).await? }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Marked {
    /// Reports newly marked seen (marking one again changes nothing).
    pub marked: u64,
    /// Items still waiting.
    pub count: i64,
}

/// Marks reports seen by the caller: `{"reports": [id, ...]}`. They leave the caller's queue only.
#[utoipa::path(post, path = "/api/review/seen", tag = "workflow",
    request_body(content = Object, content_type = "application/json", description = "{\"reports\": [report id, ...]}, 1 to 500 ids"),
    responses(
        (status = 200, description = "Marked", body = Marked),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a list of report ids, or an id that names no report", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn seen(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Json<Marked>> {
    let user = principal.require_staff(TO_REVIEW)?.clone();
    let mut p = Props::object(&body, "").map_err(ApiError::invalid)?;
    p.refuse_unknown(&["reports"], &[]);
    let ids = p.required("reports", report_ids);
    let Some(ids) = ids.filter(|_| p.errors.is_empty()) else { return Err(ApiError::invalid(p.errors)) };
    let marked = review::mark_seen(&state.db, user.id, &ids).await?;
    Ok(Json(Marked { marked, count: review::count(&state.db, user.id).await? }))
}

fn report_ids(v: &serde_json::Value) -> std::result::Result<Vec<uuid::Uuid>, Message> {
    let list = v.as_array().ok_or_else(|| fields::wrong_type("array", "a list of report ids", v))?;
    if list.is_empty() || list.len() > 500 {
        let detail = format!("1 to 500 report ids, got {}", list.len());
        return Err(Message::new(Code::Range, detail).with("min", 1).with("max", 500).with("got", list.len()));
    }
    list.iter()
        .enumerate()
        .map(|(i, id)| {
            id.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                let got = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
                Message::new(Code::Format, format!("item {i} is not a report id (a UUID)"))
                    .with("expected", "id")
                    .with("got", got)
            })
        })
        .collect()
}
