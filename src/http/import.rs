//! POST /api/import: many tasks from one GeoJSON FeatureCollection (bureau staff).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::AppState;
use super::extract::QueryPairs;
use super::idempotency::{Idempotency, fingerprint_json};
use super::lang::Lang;
use crate::auth::Principal;
use crate::domain::import::{self, Mode, Options};
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::store::import::{self as store, ImportReport};

/// Largest import body: 200,000 small features fit.
pub const MAX_IMPORT_BODY: usize = 256 * 1024 * 1024;

/// Import tasks from a GeoJSON FeatureCollection. Every feature is checked with the rules of
/// POST /api/tasks; the answer reports each failed feature by index with JSON pointers into the
/// document. With `mode=all` (the default) nothing is stored unless every feature is valid; with
/// `mode=partial` the valid ones are.
#[utoipa::path(post, path = "/api/import", tag = "tasks",
    params(
        ("mode" = Option<String>, Query, description = "all (default): nothing is stored unless every feature is valid; partial: the valid features are stored"),
        ("coords" = Option<String>, Query, description = "gcj02 or bd09: coordinates are in that datum and are converted to WGS 84"),
    ),
    request_body(content = Object, description = "a GeoJSON FeatureCollection of task Features", content_type = "application/geo+json"),
    responses(
        (status = 200, description = "Imported (with mode=partial, some features may be listed under `failed`)", body = ImportReport),
        (status = 400, description = "Not JSON, or a bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some features are invalid and nothing was stored: `errors` point at them and `failed` lists them by index", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(query): QueryPairs,
    headers: HeaderMap,
    lang: Lang,
    body: Bytes,
) -> Result<Response> {
    let user = principal.require_staff("import tasks")?;
    let options = Options::from_query(&query).map_err(ApiError::bad_query)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.contains("json") {
        return Err(ApiError::new(
            ProblemKind::UnsupportedMediaType,
            "send the FeatureCollection with Content-Type: application/geo+json",
        ));
    }
    let doc = super::extract::parse_json(&body)?;
    let parsed = import::parse(&doc, options.datum, Utc::now()).map_err(|e| ApiError::invalid(vec![e]))?;
    let once = Idempotency::read(&headers, user.id, "POST /api/import".into(), fingerprint_json(&query, &doc))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let mut report = store::import(&state.db, &mut tx, parsed, options, Some(user.id), |_, _, _| {}).await?;
    report.failed = report.failed.iter().map(|f| f.localized(lang)).collect();
    if options.mode == Mode::All && !report.failed.is_empty() {
        let errors = report.failed.iter().flat_map(|f| f.errors.clone()).collect();
        let failed = serde_json::to_value(&report.failed).unwrap_or_default();
        return Err(ApiError::invalid(errors)
            .with("failed", failed)
            .with("imported", 0)
            .with("received", report.received));
    }
    once.commit(&state.db, tx, (StatusCode::OK, Json(report)).into_response()).await
}
