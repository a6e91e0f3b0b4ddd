//! Reminders (催办) over HTTP: each user's inbox (the badge, the list, marking read), the bureau
//! chasing one task, and the administrator's settings, channels and view of the deliveries.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::extract::{JsonBody, PathId, QueryPairs, TaskId};
use super::idempotency::{Idempotency, fingerprint_json};
use crate::auth::Principal;
use crate::domain::fields::{self, Props};
use crate::domain::filter::{self, each_parameter};
use crate::domain::reminder::{ChannelsInput, Settings, UnitKind};
use crate::error::{ApiError, Problem, Result};
use crate::store::reminders::{self, Channels, Chased, Delivery, Inbox};

const TO_CONFIGURE: &str = "change how reminders are sent";

/// The caller's inbox (收件箱), newest first: the daily digests of its township or department and
/// the bureau's chases of their tasks. Staff have no unit, so theirs is empty.
#[utoipa::path(get, path = "/api/inbox", tag = "reminders",
    params(
        ("limit" = Option<i64>, Query, description = "items per page (1–200, default 50)", minimum = 1, maximum = 200),
        ("offset" = Option<i64>, Query, description = "items to skip", minimum = 0, maximum = 1000000),
    ),
    responses(
        (status = 200, description = "The page, with the unread and total counts", body = Inbox),
    ))]
pub async fn inbox(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Inbox>> {
    let user = principal.require_user()?;
    let (mut limit, mut offset) = (50, 0);
    let errors = each_parameter(&pairs, &["limit", "offset"], "parameters are: limit, offset", |key, value| {
        match key {
            "limit" => limit = filter::number("limit", value, 1, 200)?,
            _ => offset = filter::number("offset", value, 0, 1_000_000)?,
        }
        Ok(())
    });
    if !errors.is_empty() {
        return Err(ApiError::bad_query(errors));
    }
    Ok(Json(reminders::inbox(&state.db, user.id, limit, offset).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Unread {
    /// Items of the caller's inbox not yet read (the badge).
    pub unread: i64,
    /// Items newly marked read by this request (marking ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marked: Option<u64>,
}

/// How many items of the caller's inbox are unread (the badge).
#[utoipa::path(get, path = "/api/inbox/count", tag = "reminders",
    responses((status = 200, description = "The count", body = Unread)))]
pub async fn count(State(state): State<AppState>, principal: Principal) -> Result<Json<Unread>> {
    let user = principal.require_user()?;
    let (unread, _) = reminders::unread(&state.db, user.id).await?;
    Ok(Json(Unread { unread, marked: None }))
}

/// Marks one item of the caller's inbox read (for the caller only; again changes nothing).
#[utoipa::path(post, path = "/api/inbox/{id}/read", tag = "reminders",
    params(("id" = uuid::Uuid, Path, description = "the inbox item")),
    responses((status = 200, description = "Marked; the unread count after", body = Unread)))]
pub async fn read_one(State(state): State<AppState>, principal: Principal, PathId(id): PathId) -> Result<Json<Unread>> {
    let user = principal.require_user()?;
    if !reminders::mark_read(&state.db, user.id, id).await? {
        return Err(ApiError::not_found(format!("your inbox holds no item {id}")));
    }
    let (unread, _) = reminders::unread(&state.db, user.id).await?;
    Ok(Json(Unread { unread, marked: None }))
}

/// Marks every item of the caller's inbox read.
#[utoipa::path(post, path = "/api/inbox/read", tag = "reminders",
    responses((status = 200, description = "Marked", body = Unread)))]
pub async fn read_all(State(state): State<AppState>, principal: Principal) -> Result<Json<Unread>> {
    let user = principal.require_user()?;
    let marked = reminders::mark_all_read(&state.db, user.id).await?;
    let (unread, _) = reminders::unread(&state.db, user.id).await?;
    Ok(Json(Unread { unread, marked: Some(marked) }))
}

/// The bureau chases one open task by hand (催办): `{"message": "..."}` goes to the inbox of the
/// task's township and lead department and to their robots and addresses at once, and is kept in
/// the task's history (kind `chased`). Bureau staff only; takes an `Idempotency-Key`.
#[utoipa::path(post, path = "/api/tasks/{id}/chase", tag = "reminders",
    params(
        ("id" = uuid::Uuid, Path, description = "task id"),
        ("Idempotency-Key" = Option<String>, Header, description = "a resend with the same key returns the first answer and chases once"),
    ),
    request_body(content = Object, content_type = "application/json", description = "{\"message\": \"...\"} (1–1000 characters)"),
    responses(
        (status = 201, description = "Chased", body = Chased),
        (status = 409, description = "The task is verified or cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn chase(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let user = principal.require_staff("chase a task")?.clone();
    let mut p = Props::object(&body, "").map_err(ApiError::invalid)?;
    p.refuse_unknown(&["message"], &[]);
    let message = p.required("message", fields::text(1000, false));
    let Some(message) = message.filter(|_| p.errors.is_empty()) else { return Err(ApiError::invalid(p.errors)) };
    let once =
        Idempotency::read(&headers, user.id, format!("POST /api/tasks/{id}/chase"), fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let chased = reminders::chase(&mut tx, id, &message, user.id).await?;
    let answer = once.commit(&state.db, tx, (StatusCode::CREATED, Json(&chased)).into_response()).await?;
    if chased.deliveries > 0 {
        // The robots and addresses hear of it now, not at the background job's next round.
        let (db, sender) = (state.db.clone(), state.sender.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::reminders::deliver_due(&db, &sender).await {
                tracing::warn!(error = %e, "reminders: delivering a chase failed; the background job retries");
            }
        });
    }
    Ok(answer)
}

/// The reminder settings: how far ahead "due soon" looks, when a task without reports is stale,
/// and the hour of the daily run (county time). Administrators only.
#[utoipa::path(get, path = "/api/reminders/settings", tag = "reminders",
    responses((status = 200, description = "The settings", body = Settings)))]
pub async fn settings(State(state): State<AppState>, principal: Principal) -> Result<Json<Settings>> {
    principal.require_admin(TO_CONFIGURE)?;
    Ok(Json(reminders::settings(&state.db).await?))
}

/// Changes the reminder settings (all three fields). Administrators only.
#[utoipa::path(put, path = "/api/reminders/settings", tag = "reminders",
    request_body(content = Settings, content_type = "application/json"),
    responses((status = 200, description = "The settings now", body = Settings)))]
pub async fn set_settings(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Json<Settings>> {
    let user = principal.require_admin(TO_CONFIGURE)?;
    let settings = Settings::parse(&body).map_err(ApiError::invalid)?;
    reminders::set_settings(&state.db, &settings, user.id).await?;
    Ok(Json(settings))
}

/// Every unit's channels besides the inbox (robot URLs masked, secrets never shown). Administrators only.
#[utoipa::path(get, path = "/api/reminders/channels", tag = "reminders",
    responses((status = 200, description = "The units with channels", body = Vec<Channels>)))]
pub async fn channels(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<Channels>>> {
    principal.require_admin(TO_CONFIGURE)?;
    Ok(Json(reminders::channels(&state.db).await?))
}

/// Sets a unit's channels: `{"robot": {"kind": "wecom"|"dingtalk", "url": "...", "secret": "..."} |
/// null, "emails": [...]}`. A DingTalk secret left out is kept, null removes it; no robot and no
/// address removes the unit's channels. Answers every unit's channels. Administrators only.
#[utoipa::path(put, path = "/api/reminders/channels/{unit_kind}/{unit_code}", tag = "reminders",
    params(
        ("unit_kind" = String, Path, description = "township or department"),
        ("unit_code" = String, Path, description = "the township's or department's code"),
    ),
    request_body(content = Object, content_type = "application/json", description = "{\"robot\": {kind, url, secret?} | null, \"emails\": [address, ...]}"),
    responses((status = 200, description = "Every unit's channels now", body = Vec<Channels>)))]
pub async fn set_channels(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind, code)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Vec<Channels>>> {
    let user = principal.require_admin(TO_CONFIGURE)?.clone();
    let Some(kind) = UnitKind::parse(&kind) else {
        return Err(ApiError::not_found(format!("'{kind}' is not a kind of unit: township or department")));
    };
    // Township and department codes are digits, lower-case letters and '_': anything else names no unit.
    if code.is_empty()
        || code.len() > 32
        || !code.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'_')
    {
        return Err(ApiError::not_found(format!("there is no {} '{code}'", kind.as_str())));
    }
    let input = ChannelsInput::parse(&body).map_err(ApiError::invalid)?;
    reminders::set_channels(&state.db, kind, &code, &input, user.id).await?;
    Ok(Json(reminders::channels(&state.db).await?))
}

/// The latest deliveries to robots and e-mail, failed ones first: status, attempts, the last
/// error and the next attempt. Administrators only.
#[utoipa::path(get, path = "/api/reminders/deliveries", tag = "reminders",
    params(
        ("state" = Option<String>, Query, description = "pending, sent or failed (default: all)"),
        ("limit" = Option<i64>, Query, description = "rows (1–1000, default 200)", minimum = 1, maximum = 1000),
    ),
    responses((status = 200, description = "The deliveries", body = Vec<Delivery>)))]
pub async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Vec<Delivery>>> {
    principal.require_admin("see the reminder deliveries")?;
    let (mut status, mut limit) = (None, 200);
    let errors = each_parameter(&pairs, &["state", "limit"], "parameters are: state, limit", |key, value| {
        match key {
            "state" => status = Some(fields::one_of(DELIVERY_STATES)(&value.into())?),
            _ => limit = filter::number("limit", value, 1, 1000)?,
        }
        Ok(())
    });
    if !errors.is_empty() {
        return Err(ApiError::bad_query(errors));
    }
    Ok(Json(reminders::deliveries(&state.db, status, limit).await?))
}

/// The states of a delivery, as `state` names them.
pub const DELIVERY_STATES: &[(&str, &str)] = &[("pending", "pending"), ("sent", "sent"), ("failed", "failed")];
