//! /api/categories: the task families. Everyone reads them (the map's legend and filters);
//! administrators add, rename, recolour, reorder and retire them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::{JsonBody, Reads};
use super::idempotency::{Idempotency, fingerprint_json};
use crate::auth::Principal;
use crate::domain::category::{CategoryChange, NewCategory};
use crate::domain::codes::CategoryCode;
use crate::error::{ApiError, Problem, Result};
use crate::store::categories::{self, Category};

/// Task families (categories), retired ones included (`retired`: their tasks are still shown and
/// filtered, but no new task may be filed under them).
#[utoipa::path(get, path = "/api/categories", tag = "reference",
    responses((status = 200, description = "Every task family", body = Vec<Category>)))]
pub async fn list(Reads(db): Reads) -> Result<Json<Vec<Category>>> {
    Ok(Json(categories::list(&db).await?))
}

/// Add a task family: `code` (a-z, 0-9, _), `prefix` of its task codes (2–4 letters), `name_zh`,
/// `name_en`, `color` (#rrggbb), optional `sort_order` (default: after the others).
#[utoipa::path(post, path = "/api/categories", tag = "admin",
    request_body(content = Object, content_type = "application/json",
        description = "{\"code\": \"ecology\", \"prefix\": \"ECO\", \"name_zh\": \"生态修复\", \"name_en\": \"Ecological restoration\", \"color\": \"#2e8b57\"}"),
    responses(
        (status = 201, description = "Added", body = Category),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code or the prefix is another family's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid family", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let admin = principal.require_admin("add task families")?;
    let family = NewCategory::parse(&body).map_err(ApiError::invalid)?;
    let once = Idempotency::read(&headers, admin.id, "POST /api/categories".into(), fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let created = categories::create(&mut tx, &family).await?;
    once.commit(&state.db, tx, (StatusCode::CREATED, Json(created)).into_response()).await
}

fn family_code(raw: &str) -> Result<String> {
    CategoryCode::parse(raw)
        .map(CategoryCode::into_string)
        .map_err(|e| ApiError::bad_request(format!("{e} in the path")))
}

/// Change a task family: its names, colour, order, and `retired` (true: no new task may be filed
/// under it, its tasks stay; false: open again). Its `code` and `prefix` may change only while no
/// task uses it.
#[utoipa::path(patch, path = "/api/categories/{code}", tag = "admin",
    params(("code" = String, Path, description = "the family's code")),
    request_body(content = Object, content_type = "application/json",
        description = "any of code, prefix, name_zh, name_en, color, sort_order, retired"),
    responses(
        (status = 200, description = "Changed", body = Category),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such family", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new code or prefix is another family's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change, or a new code or prefix for a family tasks use", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Category>> {
    principal.require_admin("change task families")?;
    let code = family_code(&code)?;
    let change = CategoryChange::parse(&body).map_err(ApiError::invalid)?;
    Ok(Json(categories::update(&state.db, &code, &change).await?))
}

/// Retire a task family (the same as PATCH with `retired: true`): its tasks are kept, shown and
/// counted, but no new task may be filed under it. Nothing is deleted; PATCH `retired: false`
/// opens it again.
#[utoipa::path(delete, path = "/api/categories/{code}", tag = "admin",
    params(("code" = String, Path, description = "the family's code")),
    responses(
        (status = 200, description = "Retired", body = Category),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such family", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retire(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> Result<Json<Category>> {
    principal.require_admin("retire task families")?;
    let code = family_code(&code)?;
    Ok(Json(categories::update(&state.db, &code, &CategoryChange::retire(true)).await?))
}
