//! The lifecycle over HTTP: township reports (with photos), the bureau's transitions, the history,
//! and photos served only to those who may see them.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::extract::{JsonBody, QueryPairs, TaskId, if_match_version};
use super::idempotency::{Idempotency, fingerprint_json};
use super::tasks::{feature_response, load, refused_write};
use crate::auth::Principal;
use crate::domain::access::Unit;
use crate::domain::fields::{self, Props};
use crate::domain::photo;
use crate::domain::stage::Stage;
use crate::domain::workflow::{self, Action};
use crate::domain::{Code, Message};
use crate::error::{ApiError, FieldError, Problem, ProblemKind, Result};
use crate::store::events::{self, HistoryEntry};
use crate::store::reports::{self, Filed, Filing, Photo, ReportInput, ReportView};
use crate::store::tasks as task_store;

/// Reports carry up to six 10 MB photos.
pub const MAX_REPORT_BODY: usize = photo::MAX_PER_REPORT * photo::MAX_BYTES + 1024 * 1024;

fn report_action(v: &Value) -> std::result::Result<Action, Message> {
    let a = fields::one_of(Action::ALL)(v)?;
    if a.is_report_action() {
        Ok(a)
    } else {
        let detail = format!(
            "a report's action is start or complete; {} is a bureau transition (POST .../transitions)",
            a.as_str()
        );
        Err(Message::new(Code::UnknownValue, detail).with("got", a.as_str()).with("allowed", vec!["start", "complete"]))
    }
}

fn too_large(detail: String) -> ApiError {
    ApiError::new(ProblemKind::TooLarge, detail)
}

/// A multipart report: its text fields, and its photos checked one by one as they arrive.
async fn read_form(req: Request, state: &AppState) -> Result<(serde_json::Map<String, Value>, Vec<Photo>)> {
    let mut form = serde_json::Map::new();
    let mut photos = Vec::new();
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read the form: {}", e.body_text())))?;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(too_large(format!("the report is larger than {} MiB", MAX_REPORT_BODY >> 20)));
            }
            Err(e) => return Err(ApiError::bad_request(format!("cannot read the form: {}", e.body_text()))),
        };
        let name = field.name().unwrap_or("").to_owned();
        if let Some(stage) = Stage::from_part(&name) {
            photos.push(read_photo(field).await?.shows(stage));
            if photos.len() > photo::MAX_PER_REPORT {
                let detail = format!("at most {} photos per report", photo::MAX_PER_REPORT);
                let why = FieldError::new("photo", Code::TooMany, detail).with("max", photo::MAX_PER_REPORT);
                return Err(ApiError::invalid(vec![why.with("got", photos.len())]));
            }
        } else {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request(format!("cannot read field '{name}': {}", e.body_text())))?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                ApiError::invalid_field(format!("/{name}"), Code::NotText, "is not text: its bytes are not valid UTF-8")
            })?;
            // Form fields are text; progress is a number in the JSON form of a report.
            let value = match name.as_str() {
                "progress" => text.trim().parse::<i64>().map(Value::from).unwrap_or(Value::String(text)),
                "confirm_lower" => text.trim().parse::<bool>().map(Value::from).unwrap_or(Value::String(text)),
                "latitude" | "longitude" | "accuracy" => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Value::from)
                    .unwrap_or(Value::String(text)),
                _ => Value::String(text),
            };
            form.insert(name, value);
        }
    }
    Ok((form, photos))
}

/// One photo of a multipart report: at most 10 MB, and a JPEG, PNG or WebP by its content.
async fn read_photo(field: axum::extract::multipart::Field<'_>) -> Result<Photo> {
    let filename = field.file_name().unwrap_or("photo").to_owned();
    let bytes = field.bytes().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(format!("the report is larger than {} MiB", MAX_REPORT_BODY >> 20))
        } else {
            ApiError::bad_request(format!("cannot read the photo '{filename}': {}", e.body_text()))
        }
    })?;
    if bytes.len() > photo::MAX_BYTES {
        return Err(too_large(format!(
            "the photo '{filename}' is {:.1} MB; at most {} MB each",
            bytes.len() as f64 / 1048576.0,
            photo::MAX_BYTES >> 20
        )));
    }
    let Some(media_type) = photo::sniff(&bytes) else {
        let detail = format!("'{filename}' is not a JPEG, PNG or WebP image (judged by its content, not its name)");
        let why = Message::new(Code::NotAPhoto, detail).with("file", filename.as_str());
        return Err(ApiError::refused(ProblemKind::UnsupportedMediaType, why));
    };
    // Decoding is CPU work: off the async threads.
    let decoded = bytes.clone();
    let checked = tokio::task::spawn_blocking(move || {
        photo::check(&decoded).map(|c| (c, crate::domain::evidence::read(&decoded)))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "a photo check stopped");
        ApiError::internal()
    })?;
    let (checked, facts) = match checked {
        Ok(found) => found,
        Err(why) => return Err(photo_refused(&filename, why)),
    };
    Ok(Photo::new(bytes.to_vec(), media_type).read(checked.dhash, facts))
}

/// The 422 of a photo that does not decode or is too big.
fn photo_refused(filename: &str, why: photo::Refusal) -> ApiError {
    let detail = format!("the photo '{filename}' {why}");
    let error = match why {
        photo::Refusal::Unreadable(_) => FieldError::new("photo", Code::PhotoUnreadable, detail),
        photo::Refusal::TooBig => FieldError::new("photo", Code::PhotoTooBig, detail)
            .with("max_side", photo::MAX_SIDE)
            .with("max_megapixels", photo::MAX_PIXELS / 1_000_000),
    };
    ApiError::invalid(vec![error.with("file", filename)])
}

/// Where the phone was when the report was written: longitude and latitude together, and how
/// sure it was (metres).
fn sent_from(p: &mut Props) -> Option<([f64; 2], Option<f64>)> {
    let latitude = p.optional("latitude", fields::number(-90.0, 90.0));
    let longitude = p.optional("longitude", fields::number(-180.0, 180.0));
    let accuracy = p.optional("accuracy", fields::number(0.0, 100_000.0));
    let missing = match (longitude, latitude) {
        (Some(lon), Some(lat)) => return Some(([lon, lat], accuracy)),
        (None, None) => return None,
        (None, Some(_)) => "longitude",
        (Some(_), None) => "latitude",
    };
    p.fail(missing, Message::new(Code::Required, format!("a position has a {missing} too")).with("name", missing));
    None
}

/// Reads a report from multipart/form-data (fields `progress`, `note`, `action`, files `photo`) or
/// from JSON (no photos).
async fn read_report(req: Request, state: &AppState) -> Result<ReportInput> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (form, photos) = if content_type.starts_with("multipart/form-data") {
        read_form(req, state).await?
    } else {
        let JsonBody(body) = JsonBody::from_request(req, state).await?;
        match body {
            Value::Object(m) => (m, Vec::new()),
            other => {
                return Err(ApiError::invalid(vec![
                    fields::wrong_type("object", "a report is a JSON object", &other).at(""),
                ]));
            }
        }
    };
    let mut p = Props::new(&form, "");
    p.refuse_unknown(
        &[
            "progress",
            "note",
            "action",
            "photo",
            "photo_before",
            "photo_during",
            "photo_after",
            "confirm_lower",
            "latitude",
            "longitude",
            "accuracy",
            "device_time",
        ],
        &[],
    );
    let sent_from = sent_from(&mut p);
    let input = ReportInput {
        action: p.optional("action", report_action),
        progress: p.optional("progress", |v| fields::integer(0, 100)(v).map(|n| n as i16)),
        note: p.optional("note", fields::text(5000, true)).unwrap_or_default(),
        photos,
        confirm_lower: p.optional("confirm_lower", fields::boolean).unwrap_or(false),
        sent_from,
        device_time: p.optional("device_time", fields::timestamp),
    };
    if input.action == Some(Action::Complete) && input.progress.is_some_and(|p| p != 100) {
        let why = Message::new(Code::ProgressFull, "a completion report has progress 100 (or leave it out)");
        p.fail("progress", why.with("status", "completed").with("got", input.progress.unwrap_or_default()));
    }
    // A progress that was sent but refused is not "no progress": its own error says what is wrong.
    let nothing =
        input.action.is_none() && input.progress.is_none() && input.note.is_empty() && input.photos.is_empty();
    if nothing && p.errors.is_empty() {
        p.errors.push(FieldError::new(
            "",
            Code::EmptyReport,
            "an empty report: send progress, a note, photos or an action",
        ));
    }
    if p.errors.is_empty() { Ok(input) } else { Err(ApiError::invalid(p.errors)) }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::bad_request(
            "send an Idempotency-Key header (up to 200 characters, e.g. a UUID made once per report and sent again with every retry), so a report resent over a weak network is stored once",
        ));
    }
    Ok(key.to_owned())
}

/// File a progress report: progress %, a note, photos, and optionally `start` or `complete`.
#[utoipa::path(post, path = "/api/tasks/{id}/reports", tag = "workflow",
    params(
        ("id" = uuid::Uuid, Path, description = "task id"),
        ("If-Match" = String, Header, description = "ETag of the task as last read"),
        ("Idempotency-Key" = String, Header, description = "one key per report; a resend with the same key returns the first result and stores nothing"),
    ),
    request_body(content = Object, content_type = "multipart/form-data",
                 description = "fields progress (0–100), note, action (start|complete), confirm_lower (true to lower progress, with a note), and up to 6 files `photo` (JPEG, PNG or WebP, 10 MB each); or the same fields as JSON without photos"),
    responses(
        (status = 201, description = "Filed (or, with `Idempotent-Replayed: true`, filed before with this key)", body = ReportView),
        (status = 403, description = "Another township's task", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the task's state", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A photo over 10 MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A file that is not a JPEG, PNG or WebP image", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_report(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
    headers: HeaderMap,
    req: Request,
) -> Result<Response> {
    // Who may report comes first: a caller learns nothing of what it may not do.
    let user = principal.require_user()?.clone();
    let viewer = principal.viewer();
    let (township, lead) = task_store::units_of(&state.db, id).await?;
    workflow::may_report(viewer.relation(Unit::new(&township, lead.as_deref())))?;
    let key = idempotency_key(&headers)?;
    let input = read_report(req, &state).await?;
    let expected = if_match_version(&headers)?;
    let endpoint = format!("POST /api/tasks/{id}/reports");
    let once = Idempotency::new(Some(&key), user.id, endpoint, input.fingerprint());
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let key = once.key().ok_or_else(ApiError::internal)?;
    let filing = Filing { task: id, author: user.id, key, expected_version: expected };
    let photos = &state.settings.photos;
    let mut tx = crate::store::begin(&state.db).await?;
    let filed = reports::file(&mut tx, photos, &filing, &input).await;
    let (view, version) = match filed {
        Ok(Filed::Created(view, version)) => (view, version),
        Ok(Filed::Twin) => {
            drop(tx);
            return once.replay(&state.db).await?.ok_or_else(ApiError::internal);
        }
        Err(e) => {
            drop(tx);
            photos.remove_orphans(&state.db, &input.photos).await;
            return Err(refused_write(&state, id, &viewer, expected, e).await);
        }
    };
    let mut res = (StatusCode::CREATED, Json(&view)).into_response();
    res.headers_mut().insert(header::ETAG, super::extract::etag(version));
    let answered = once.commit(&state.db, tx, res).await;
    if answered.is_err() {
        photos.remove_orphans(&state.db, &input.photos).await;
    }
    answered
}

/// A task's reports, newest first (staff and the task's own township).
#[utoipa::path(get, path = "/api/tasks/{id}/reports", tag = "workflow",
    params(("id" = uuid::Uuid, Path, description = "task id")),
    responses(
        (status = 200, description = "Reports", body = Vec<ReportView>),
        (status = 403, description = "Not the task's township or the bureau", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_reports(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
) -> Result<Json<Vec<ReportView>>> {
    principal.require_user()?;
    let viewer = principal.viewer();
    let task = load(&state, id, &viewer).await?;
    if !viewer.sees_private(task.unit()) {
        return Err(ApiError::forbidden("reports are for the bureau, the task's own township and its lead department"));
    }
    Ok(Json(reports::list(&state.db, id).await?))
}

/// A bureau action.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TransitionInput {
    /// verify, return, cancel, supervise or unsupervise.
    action: Action,
    /// Required for return (shown to the township) and cancel.
    reason: Option<String>,
}

/// Verify (销号), return (退回整改), cancel, supervise (督办) or unsupervise a task.
#[utoipa::path(post, path = "/api/tasks/{id}/transitions", tag = "workflow",
    params(
        ("id" = uuid::Uuid, Path, description = "task id"),
        ("If-Match" = String, Header, description = "ETag of the task as last read"),
    ),
    request_body(content = TransitionInput, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; the task as it is now", body = crate::store::tasks::TaskFeature, content_type = "application/geo+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the task's state", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason for a return or cancel", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn transition(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let user = principal.require_user()?.clone();
    let mut p = Props::object(&body, "").map_err(ApiError::invalid)?;
    p.refuse_unknown(&["action", "reason"], &[]);
    let action = p.required("action", fields::one_of(Action::ALL));
    let reason = p.optional("reason", fields::text(2000, true));
    let Some(action) = action.filter(|_| p.errors.is_empty()) else { return Err(ApiError::invalid(p.errors)) };
    if action.is_report_action() {
        let detail = format!("{} is reported by the township: POST /api/tasks/{id}/reports", action.as_str());
        let transitions: Vec<&str> =
            Action::ALL.iter().filter(|(_, a)| !a.is_report_action()).map(|(n, _)| *n).collect();
        let why = FieldError::new("/action", Code::UnknownValue, detail).with("got", action.as_str());
        return Err(ApiError::invalid(vec![why.with("allowed", transitions)]));
    }
    let viewer = principal.viewer();
    let (township, lead) = task_store::units_of(&state.db, id).await?;
    workflow::may_act(action, viewer.relation(Unit::new(&township, lead.as_deref())))?;
    let expected = if_match_version(&headers)?;
    let endpoint = format!("POST /api/tasks/{id}/transitions");
    let once = Idempotency::read(&headers, user.id, endpoint, fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    if let Err(e) = task_store::transition(&mut tx, id, expected, action, reason.as_deref(), user.id).await {
        drop(tx);
        return Err(refused_write(&state, id, &viewer, expected, e).await);
    }
    let task = task_store::get(&mut *tx, id, &viewer).await?.ok_or_else(ApiError::internal)?;
    once.commit(&state.db, tx, feature_response(StatusCode::OK, &task)).await
}

/// Everything that happened to a task, oldest first: creation, edits (before and after), reports
/// and transitions with who, when and why. The public sees only when its status changed.
#[utoipa::path(get, path = "/api/tasks/{id}/history", tag = "workflow",
    params(("id" = uuid::Uuid, Path, description = "task id")),
    responses((status = 200, description = "The history", body = Vec<HistoryEntry>)))]
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
) -> Result<Json<Vec<HistoryEntry>>> {
    let viewer = principal.viewer();
    let task = load(&state, id, &viewer).await?;
    let full = viewer.sees_private(task.unit());
    Ok(Json(events::history(&state.db, id, full).await?))
}

/// The task's photos by stage (整改前 / 整改中 / 整改后), oldest report first, for the before-and-after
/// view: every stage to the bureau and the task's own township or lead department; to everyone
/// else only the before and after photos, once the task is verified (an empty list until then).
#[utoipa::path(get, path = "/api/tasks/{id}/photos", tag = "workflow",
    params(("id" = uuid::Uuid, Path, description = "task id")),
    responses((status = 200, description = "The photos", body = Vec<reports::TaskPhoto>)))]
pub async fn task_photos(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
) -> Result<Json<Vec<reports::TaskPhoto>>> {
    let viewer = principal.viewer();
    let task = load(&state, id, &viewer).await?;
    let full = viewer.sees_private(task.unit());
    if !full && task.properties.public.status != "verified" {
        return Ok(Json(Vec::new()));
    }
    Ok(Json(reports::task_photos(&state.db, id, full).await?))
}

/// A report photo, to those who may see it: the original to the bureau and the task's township;
/// once the task is verified and public, to everyone else a copy re-encoded without metadata.
/// `size=thumb` (320 px) or `size=phone` (1024 px) gives anyone who may see it a smaller copy,
/// also without metadata: lists show those first.
#[utoipa::path(get, path = "/api/photos/{sha256}", tag = "workflow",
    params(
        ("sha256" = String, Path, description = "the photo's SHA-256, as in a report's photo url"),
        ("size" = Option<String>, Query, description = "thumb (320 px) or phone (1024 px): a smaller copy without metadata"),
    ),
    responses(
        (status = 200, description = "The image, with nosniff", content_type = "image/jpeg"),
        (status = 404, description = "No such photo, or not one the caller may see", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn photo(
    State(state): State<AppState>,
    principal: Principal,
    Path(sha256): Path<String>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    let size = photo_size(&pairs)?;
    let not_found = || ApiError::not_found("there is no such photo, or you may not see it");
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(not_found());
    }
    let access = reports::photo_for(&state.db, &sha256, &principal.viewer()).await?.ok_or_else(not_found)?;
    let photos = &state.settings.photos;
    // The bureau and the task's township get the original, with its metadata (the evidence); the
    // public a re-encoded copy that carries none (no position, camera or time).
    let (media_type, read) = match size {
        Some(size) => ("image/jpeg".to_owned(), photos.sized_copy(&state.db, &sha256, size).await),
        None if access.full => (access.media_type, photos.original(&state.db, &sha256).await),
        None => ("image/jpeg".to_owned(), photos.public_copy(&state.db, &sha256).await),
    };
    let bytes = read.map_err(|e| {
        tracing::error!(error = %e, sha256, "a stored report photo cannot be read");
        not_found()
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::CACHE_CONTROL, "private, max-age=86400".into()),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// `size` of GET /api/photos/{sha256}: none (the photo as the caller may see it), thumb or phone.
fn photo_size(pairs: &[(String, String)]) -> Result<Option<photo::Size>> {
    let mut size = None;
    for (name, value) in pairs {
        if name != "size" || size.is_some() {
            let why =
                if name == "size" { "size is given twice" } else { "the only parameter is size (thumb or phone)" };
            return Err(ApiError::bad_query(vec![
                FieldError::new(name.as_str(), Code::UnknownField, why).with("name", name.as_str()),
            ]));
        }
        let found = photo::Size::ALL.iter().find(|(n, _)| n == value).map(|(_, s)| *s);
        size = Some(found.ok_or_else(|| {
            let detail = format!("size '{value}' is not one of: thumb, phone");
            ApiError::bad_query(vec![FieldError::new("size", Code::UnknownValue, detail).with("got", value.as_str())])
        })?);
    }
    Ok(size)
}
