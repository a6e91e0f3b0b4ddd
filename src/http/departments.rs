//! /api/departments: the responsible departments (牵头单位 / 配合单位). Everyone reads them (the
//! task panel names a task's departments, the league table lists them); administrators add,
//! rename, reorder and retire them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::{JsonBody, Reads};
use super::idempotency::{Idempotency, fingerprint_json};
use crate::auth::Principal;
use crate::domain::account::department_code;
use crate::domain::department::{DepartmentChange, NewDepartment};
use crate::error::{ApiError, Problem, Result};
use crate::store::departments::{self, Department};

/// Every department, retired ones included (`retired`: they keep their tasks and accounts, but no
/// task may be given to them).
#[utoipa::path(get, path = "/api/departments", tag = "reference",
    responses((status = 200, description = "Every department", body = Vec<Department>)))]
pub async fn list(Reads(db): Reads) -> Result<Json<Vec<Department>>> {
    Ok(Json(departments::list(&db).await?))
}

/// Add a department: `code` (a-z, 0-9, _; it never changes), `name_zh`, `name_en`, optional
/// `sort_order` (default: after the others).
#[utoipa::path(post, path = "/api/departments", tag = "admin",
    request_body(content = Object, content_type = "application/json",
        description = "{\"code\": \"forestry\", \"name_zh\": \"林业局\", \"name_en\": \"Forestry Bureau\"}"),
    responses(
        (status = 201, description = "Added", body = Department),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is another department's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid department", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let admin = principal.require_admin("add departments")?;
    let department = NewDepartment::parse(&body).map_err(ApiError::invalid)?;
    let once = Idempotency::read(&headers, admin.id, "POST /api/departments".into(), fingerprint_json(&[], &body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    let mut tx = crate::store::begin(&state.db).await?;
    let created = departments::create(&mut tx, &department).await?;
    once.commit(&state.db, tx, (StatusCode::CREATED, Json(created)).into_response()).await
}

fn path_code(raw: &str) -> Result<String> {
    department_code(&serde_json::Value::from(raw))
        .map_err(|e| ApiError::bad_request(format!("{} in the path", e.detail)))
}

/// Change a department: its names, its order, and `retired` (true: no task may be given to it, its
/// tasks and accounts stay; false: open again). Its code never changes.
#[utoipa::path(patch, path = "/api/departments/{code}", tag = "admin",
    params(("code" = String, Path, description = "the department's code")),
    request_body(content = Object, content_type = "application/json",
        description = "any of name_zh, name_en, sort_order, retired"),
    responses(
        (status = 200, description = "Changed", body = Department),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Department>> {
    principal.require_admin("change departments")?;
    let code = path_code(&code)?;
    let change = DepartmentChange::parse(&body).map_err(ApiError::invalid)?;
    Ok(Json(departments::update(&state.db, &code, &change).await?))
}

/// Retire a department (the same as PATCH with `retired: true`). Nothing is deleted.
#[utoipa::path(delete, path = "/api/departments/{code}", tag = "admin",
    params(("code" = String, Path, description = "the department's code")),
    responses(
        (status = 200, description = "Retired", body = Department),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such department", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retire(
    State(state): State<AppState>,
    principal: Principal,
    Path(code): Path<String>,
) -> Result<Json<Department>> {
    principal.require_admin("retire departments")?;
    let code = path_code(&code)?;
    Ok(Json(departments::update(&state.db, &code, &DepartmentChange::retire(true)).await?))
}
