//! /api/campaigns/{code}/years/{year}/…: the year's scoring scheme and its assessment (检查考核).
//! The public reads the published ranking, which is the latest frozen result; bureau staff also
//! read drafts computed on request, set the scheme and freeze results.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::campaigns::code_in_path;
use super::extract::{JsonBody, QueryPairs, Reads};
use super::idempotency::{Idempotency, fingerprint_json};
use crate::auth::Principal;
use crate::domain::assessment::{self, Scheme};
use crate::domain::fields::{self, Props};
use crate::error::{ApiError, Problem, Result};
use crate::store::assessment::{self as store, Assessment, FrozenVersion, StoredScheme};

fn year_in_path(raw: &str) -> Result<i32> {
    raw.parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| ApiError::bad_request(format!("'{raw}' is not a campaign year (2000 to 2100) in the path")))
}

/// The year's scoring scheme: indicators with weights (rates, adding up to 100) or a penalty per
/// task and a cap; the default scheme (`set` false) until the bureau sets its own. Public, like the
/// ranking it explains.
#[utoipa::path(get, path = "/api/campaigns/{code}/years/{year}/scheme", tag = "assessment",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"), ("year" = i32, Path, description = "a year of the campaign", minimum = 2000, maximum = 2100)),
    responses((status = 200, description = "The scheme", body = StoredScheme)))]
pub async fn scheme(
    Reads(db): Reads,
    _principal: Principal,
    Path((code, year)): Path<(String, String)>,
) -> Result<Json<StoredScheme>> {
    let (code, year) = (code_in_path(&code)?, year_in_path(&year)?);
    let mut conn = db.acquire().await?;
    store::check_year(&mut conn, &code, year).await?;
    Ok(Json(store::scheme(&mut *conn, &code, year).await?))
}

/// Set the year's scoring scheme (bureau staff and administrators): `indicators`, each once, of
/// `target_completion`, `on_time_rate`, `verified_rate` with a `weight` (adding up to 100) and
/// `overdue`, `supervised`, `returned`, `stale` with `per_task` and `cap`. The history keeps the
/// scheme before and after, and who set it.
#[utoipa::path(put, path = "/api/campaigns/{code}/years/{year}/scheme", tag = "assessment",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"), ("year" = i32, Path, description = "a year of the campaign", minimum = 2000, maximum = 2100)),
    request_body(content = Object, content_type = "application/json",
        description = "{\"indicators\": [{\"indicator\": \"target_completion\", \"weight\": 50}, {\"indicator\": \"on_time_rate\", \"weight\": 50}, {\"indicator\": \"overdue\", \"per_task\": 2, \"cap\": 10}]}"),
    responses((status = 200, description = "Set", body = StoredScheme)))]
pub async fn set_scheme(
    State(state): State<AppState>,
    principal: Principal,
    Path((code, year)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<StoredScheme>> {
    let user = principal.require_staff("set scoring schemes")?;
    let (code, year) = (code_in_path(&code)?, year_in_path(&year)?);
    let scheme = Scheme::parse(&body).map_err(ApiError::invalid)?;
    Ok(Json(store::set_scheme(&state.db, &code, year, &scheme, user.id).await?))
}

async fn result(
    db: &crate::store::Db,
    principal: &Principal,
    code: &str,
    year: i32,
    pairs: &[(String, String)],
) -> Result<Assessment> {
    let (draft, version) = assessment::result_query(pairs).map_err(ApiError::bad_query)?;
    if draft {
        principal.require_staff("read draft assessments (the public sees frozen results)")?;
        return Ok(store::draft(db, code, year).await?);
    }
    Ok(store::frozen(db, code, year, version).await?)
}

/// The year's assessment: every township and department scored and ranked (equal scores share a
/// rank), each point explained by indicator, rule and tasks. Without parameters, the published
/// ranking: the latest frozen version (404 until one is frozen); `version=n` an earlier one;
/// `version=draft` (bureau staff) the scores computed now from the tasks as they are.
#[utoipa::path(get, path = "/api/campaigns/{code}/years/{year}/assessment", tag = "assessment",
    params(
        ("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"),
        ("year" = i32, Path, description = "a year of the campaign", minimum = 2000, maximum = 2100),
        ("version" = Option<String>, Query, description = "`draft`: computed now (bureau staff only); a number: that frozen version; without it the latest"),
    ),
    responses((status = 200, description = "The ranking with its explanation", body = Assessment)))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((code, year)): Path<(String, String)>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Assessment>> {
    let (code, year) = (code_in_path(&code)?, year_in_path(&year)?);
    // Drafts and freshly frozen results are read from the primary: they are the bureau's own work.
    Ok(Json(result(&state.db, &principal, &code, year, &pairs).await?))
}

/// Freeze the year's result as it stands now (bureau staff and administrators), with `reason`
/// (e.g. 年度考核定稿, or for a recomputation why it is done again): a new version that never
/// changes afterwards, whatever happens to the tasks; the public sees the latest one. Answers the
/// version (the result itself at `Location`); takes an `Idempotency-Key`, so a retry freezes once.
#[utoipa::path(post, path = "/api/campaigns/{code}/years/{year}/assessment", tag = "assessment",
    params(
        ("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"),
        ("year" = i32, Path, description = "a year of the campaign", minimum = 2000, maximum = 2100),
        ("Idempotency-Key" = Option<String>, Header, description = "makes a retry return the first answer"),
    ),
    request_body(content = Object, content_type = "application/json", description = "{\"reason\": \"2026 年度考核定稿\"}"),
    responses(
        (status = 201, description = "Frozen", body = FrozenVersion),
        (status = 409, description = "Frozen by someone else at the same moment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn freeze(
    State(state): State<AppState>,
    principal: Principal,
    Path((code, year)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let user = principal.require_staff("freeze assessment results")?;
    let (code, year) = (code_in_path(&code)?, year_in_path(&year)?);
    let mut p = Props::object(&body, "").map_err(ApiError::invalid)?;
    p.refuse_unknown(&["reason"], &[]);
    let reason = p.required("reason", fields::text(2000, false));
    let Some(reason) = reason.filter(|_| p.errors.is_empty()) else { return Err(ApiError::invalid(p.errors)) };
    let endpoint = format!("POST /api/campaigns/{code}/years/{year}/assessment");
    let once = Idempotency::read(&headers, user.id, endpoint, fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin_with(&state.db, "BEGIN ISOLATION LEVEL REPEATABLE READ").await?;
    let frozen = store::freeze(&mut tx, &code, year, &reason, user.id).await?;
    let location = format!("/api/campaigns/{code}/years/{year}/assessment?version={}", frozen.version);
    let res = (StatusCode::CREATED, [(header::LOCATION, location)], Json(frozen)).into_response();
    once.commit(&state.db, tx, res).await
}

/// The year's frozen versions, newest first: when, by whom and why each was frozen.
#[utoipa::path(get, path = "/api/campaigns/{code}/years/{year}/assessment/versions", tag = "assessment",
    params(("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"), ("year" = i32, Path, description = "a year of the campaign", minimum = 2000, maximum = 2100)),
    responses((status = 200, description = "Newest first", body = Vec<FrozenVersion>)))]
pub async fn versions(
    Reads(db): Reads,
    _principal: Principal,
    Path((code, year)): Path<(String, String)>,
) -> Result<Json<Vec<FrozenVersion>>> {
    let (code, year) = (code_in_path(&code)?, year_in_path(&year)?);
    Ok(Json(store::versions(&db, &code, year).await?))
}

/// The assessment as an Excel workbook: a ranking sheet and one sheet per indicator with each
/// unit's figure, points, rule and tasks. Same parameters and access as the JSON.
#[utoipa::path(get, path = "/api/campaigns/{code}/years/{year}/assessment.xlsx", tag = "assessment",
    params(
        ("code" = String, Path, description = "the campaign's code", pattern = r"^[a-z0-9][a-z0-9_-]{1,39}$"),
        ("year" = i32, Path, description = "a year of the campaign", minimum = 2000, maximum = 2100),
        ("version" = Option<String>, Query, description = "`draft`: computed now (bureau staff only); a number: that frozen version; without it the latest"),
    ),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn xlsx(
    State(state): State<AppState>,
    principal: Principal,
    Path((code, year)): Path<(String, String)>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    let (code, year) = (code_in_path(&code)?, year_in_path(&year)?);
    let a = result(&state.db, &principal, &code, year, &pairs).await?;
    let name = match a.version {
        Some(v) => format!("考核-{code}-{year}-v{v}.xlsx"),
        None => format!("考核-{code}-{year}-草稿.xlsx"),
    };
    let bytes = tokio::task::spawn_blocking(move || crate::export::assessment::workbook(&a))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the workbook writer stopped");
            ApiError::internal()
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "the assessment workbook could not be written");
            ApiError::internal()
        })?;
    Ok(super::export::download(super::export::XLSX, &name, bytes))
}
