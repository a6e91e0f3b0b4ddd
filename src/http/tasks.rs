//! /api/tasks: the ledger's features.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;

use super::AppState;
use super::extract::{JsonBody, QueryPairs, Reads, TaskId, etag, if_match_version, not_modified};
use super::idempotency::{Idempotency, fingerprint_json};
use crate::auth::Principal;
use crate::domain::Code;
use crate::domain::access::Viewer;
use crate::domain::bounds::WriteQuery;
use crate::domain::count::more_pages;
use crate::domain::filter::TaskFilter;
use crate::domain::task::{NewTask, TaskPatch};
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::store::StoreError;
use crate::store::tasks::{self as store, Stored, TaskFeature};

pub const GEOJSON: &str = "application/geo+json";

#[derive(Serialize, utoipa::ToSchema)]
pub struct Link {
    pub href: String,
    pub rel: &'static str,
    #[serde(rename = "type")]
    pub media_type: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskCollection {
    #[serde(rename = "type")]
    #[schema(example = "FeatureCollection")]
    pub kind: &'static str,
    pub features: Vec<TaskFeature>,
    /// How many tasks match the filter in all pages. Always present when the filter is a box,
    /// families, townships, statuses or supervision (counted from precounted map cells) or when
    /// the page is the last; absent when more than 10,000 tasks match a filter beyond those (words,
    /// dates, departments, overdue, CQL2, or a department officer's own internal tasks), which
    /// would cost as much to count as to read: follow the `next` link until a page is not full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_matched: Option<i64>,
    pub number_returned: usize,
    /// `self`, and `next`/`prev` when there are more pages.
    pub links: Vec<Link>,
}

/// A task to create: a GeoJSON Feature. Only `title` and `category` are required.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct TaskInput {
    #[schema(example = "Feature")]
    r#type: String,
    /// Point, LineString, Polygon or their Multi forms, WGS 84 [longitude, latitude], at most
    /// 10,000 positions.
    #[schema(value_type = Object)]
    geometry: serde_json::Value,
    properties: TaskInputProperties,
}

/// Writable task properties. In a PATCH, every one is optional and `null` clears an optional one;
/// `township: null` hands the township back to automatic assignment.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub struct TaskInputProperties {
    /// 1–200 characters.
    title: String,
    description: Option<String>,
    /// A category code from /api/categories.
    category: String,
    /// Defaults to planned.
    status: Option<String>,
    /// 0–100; 100 for completed and verified tasks.
    progress: Option<i16>,
    lead_unit: Option<String>,
    /// A department code from /api/departments: the department leading the task (its officers report on it).
    lead_department: Option<String>,
    /// Department codes: the departments supporting it, each once, the lead not among them.
    support_departments: Option<Vec<String>>,
    contact_person: Option<String>,
    contact_phone: Option<String>,
    /// YYYY-MM-DD.
    due_date: Option<chrono::NaiveDate>,
    /// 万元, at most 2 decimals.
    planned_investment: Option<f64>,
    /// 万元, at most 2 decimals.
    actual_investment: Option<f64>,
    target_quantity: Option<f64>,
    target_unit: Option<String>,
    /// public (default) or internal.
    visibility: Option<String>,
    supervised: Option<bool>,
    /// A township code: overrides the automatic assignment from the geometry.
    township: Option<String>,
    /// For completed/verified tasks loaded from an existing ledger; defaults to now.
    completed_at: Option<chrono::DateTime<Utc>>,
}

pub fn feature_response(status: StatusCode, feature: &TaskFeature) -> Response {
    let tag = etag(feature.version());
    let mut res = (status, [(header::CONTENT_TYPE, GEOJSON)], Json(feature)).into_response();
    res.headers_mut().insert(header::ETAG, tag);
    res
}

/// The task as the viewer may see it; a task they may not see does not exist for them.
pub async fn load(state: &AppState, id: uuid::Uuid, viewer: &Viewer) -> Result<TaskFeature> {
    crate::store::held::read(&state.held, async |conn| store::get(conn, id, viewer).await)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no task {id}")))
}

/// The answer to a conditional write (If-Match): the task as it is now, or the refusal, 412 with
/// the task as it is now when someone else changed it first.
pub async fn answer_update(
    state: &AppState,
    id: uuid::Uuid,
    viewer: &Viewer,
    expected: i32,
    update: Result<Stored, StoreError>,
) -> Result<Response> {
    match update {
        Ok(_) => Ok(feature_response(StatusCode::OK, &load(state, id, viewer).await?)),
        Err(e) => Err(refused_write(state, id, viewer, expected, e).await),
    }
}

/// A conditional write's refusal; a stale version is answered with the task as it is now.
pub async fn refused_write(
    state: &AppState,
    id: uuid::Uuid,
    viewer: &Viewer,
    expected: i32,
    e: StoreError,
) -> ApiError {
    match e {
        StoreError::Stale { current_version } => stale(state, id, viewer, expected, current_version).await,
        other => other.into(),
    }
}

async fn stale(state: &AppState, id: uuid::Uuid, viewer: &Viewer, expected: i32, current_version: i32) -> ApiError {
    let current = match load(state, id, viewer).await {
        Ok(c) => serde_json::to_value(&c).unwrap_or_default(),
        Err(e) => return e,
    };
    ApiError::new(ProblemKind::VersionMismatch, format!(
            "the task was changed by someone else since you read it (you edited version {expected}, it is now at version {current_version}); nothing was saved: reload it and apply your change again"
        ),
    )
    .with("current_version", current_version)
    .with("current", current)
    .with_header(header::ETAG, etag(current_version))
}

/// List tasks as a GeoJSON FeatureCollection, in code order.
#[utoipa::path(get, path = "/api/tasks", tag = "tasks",
    params(
        ("bbox" = Option<String>, Query, description = "minLon,minLat,maxLon,maxLat: tasks whose geometry intersects the box"),
        ("category" = Option<String>, Query, description = "category code(s), comma-separated"),
        ("status" = Option<String>, Query, description = "status(es), comma-separated"),
        ("township" = Option<String>, Query, description = "township code(s), comma-separated"),
        ("department" = Option<String>, Query, description = "lead department code(s), comma-separated: tasks led by one of them"),
        ("filter" = Option<String>, Query, description = "a CQL2 filter on the queryables (GET /ogc/collections/tasks/queryables)"),
        ("filter-lang" = Option<String>, Query, description = "cql2-text (the default) or cql2-json"),
        ("filter-crs" = Option<String>, Query, description = "the system of the filter's geometries (CRS84 when absent)"),
        ("overdue" = Option<bool>, Query, description = "only tasks past their due date and not finished (or only those that are not)"),
        ("supervised" = Option<bool>, Query, description = "only tasks under supervision (督办), or only those not"),
        ("q" = Option<String>, Query, description = "code prefix or words of the title"),
        ("limit" = Option<i64>, Query, description = "page size, 1–10000, default 500", minimum = 1, maximum = 10000),
        ("offset" = Option<i64>, Query, description = "tasks to skip", minimum = 0, maximum = 2147483647),
        ("properties" = Option<String>, Query, description = "the properties each task carries, comma-separated (e.g. code,title,status): the map asks only for what it draws; all when absent"),
        ("sortby" = Option<String>, Query, description = "the order: properties, comma-separated, each ascending or with a leading - descending (e.g. -due_date,code); empty values last; by code when absent"),
    ),
    responses(
        (status = 200, description = "One page of matching tasks; ETag and Cache-Control set (public for anonymous callers)", body = TaskCollection, content_type = "application/geo+json"),
        (status = 304, description = "If-None-Match names the current page"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    Reads(db): Reads,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
    headers: HeaderMap,
) -> Result<Response> {
    let filter = TaskFilter::parse(&pairs).map_err(ApiError::bad_query)?;
    let viewer = principal.viewer();
    store::check_filter(&db, &filter, &viewer).await?;
    let (features, matched) = store::list(&db, &filter, &viewer).await?;
    let returned = features.len();
    let link = |rel, offset| Link {
        href: format!("/api/tasks?{}", filter.query_at(&pairs, offset)),
        rel,
        media_type: GEOJSON,
    };
    let mut links = vec![link("self", filter.offset)];
    if more_pages(filter.offset, returned, filter.limit, matched) {
        links.push(link("next", filter.offset + filter.limit));
    }
    if filter.offset > 0 {
        links.push(link("prev", (filter.offset - filter.limit).max(0)));
    }
    let body = TaskCollection {
        kind: "FeatureCollection",
        features,
        number_matched: matched,
        number_returned: returned,
        links,
    };
    let bytes = match &filter.properties {
        None => serde_json::to_vec(&body),
        Some(keep) => serde_json::to_value(&body).and_then(|mut doc| {
            for feature in doc["features"].as_array_mut().into_iter().flatten() {
                crate::domain::filter::keep_properties(&mut feature["properties"], keep);
            }
            serde_json::to_vec(&doc)
        }),
    };
    let bytes = bytes.map_err(|_| ApiError::internal())?;
    Ok(super::cache::respond(&headers, viewer == Viewer::Public, GEOJSON, bytes))
}

/// Create a task from a GeoJSON Feature. The township is assigned from the geometry unless the
/// `township` property names one.
#[utoipa::path(post, path = "/api/tasks", tag = "tasks",
    params(("coords" = Option<String>, Query, description = "gcj02 (AMap, Tencent) or bd09 (Baidu): the geometry is in that datum and is converted to WGS 84; default wgs84")),
    request_body(content = TaskInput, content_type = "application/geo+json"),
    responses(
        (status = 201, description = "Created; Location and ETag headers are set", body = TaskFeature, content_type = "application/geo+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid task: each error points at the field or coordinate", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    QueryPairs(query): QueryPairs,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    create_from_feature(&state, &principal, &headers, &query, &body, "/api/tasks").await
}

/// Creates a task from a Feature (for /api/tasks and the OGC items), answering 201 with the task at
/// `{collection}/{id}`.
pub async fn create_from_feature(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &serde_json::Value,
    collection: &str,
) -> Result<Response> {
    let user = principal.require_staff("create tasks")?;
    let write = WriteQuery::parse(query).map_err(ApiError::bad_query)?;
    let mut task = NewTask::parse(body, Utc::now()).map_err(ApiError::invalid)?;
    let once = Idempotency::read(headers, user.id, format!("POST {collection}"), fingerprint_json(query, body))?;
    if let Some(first) = once.replay(&state.db).await? {
        return Ok(first);
    }
    task.geometry = write.datum.geometry_to_wgs84(&task.geometry);
    let mut tx = crate::store::begin(&state.db).await?;
    if write.accept_outside {
        store::accept_outside(&mut tx).await?;
    }
    let stored = store::insert(&state.db, &mut tx, None, &task, Some(user.id)).await?;
    let feature = store::get(&mut *tx, stored.id, &principal.viewer()).await?.ok_or_else(ApiError::internal)?;
    let mut res = feature_response(StatusCode::CREATED, &feature);
    let location = format!("{collection}/{}", stored.id);
    res.headers_mut().insert(header::LOCATION, location.parse().expect("a path is a valid header"));
    once.commit(&state.db, tx, res).await
}

/// One task as a GeoJSON Feature, with its ETag.
#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "task id")),
    responses(
        (status = 200, description = "The task", body = TaskFeature, content_type = "application/geo+json"),
        (status = 304, description = "If-None-Match names the current version"),
        (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
    headers: HeaderMap,
) -> Result<Response> {
    let feature = load(&state, id, &principal.viewer()).await?;
    let tag = etag(feature.version());
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(feature_response(StatusCode::OK, &feature))
}

/// Change some properties and/or the geometry of a task. Requires `If-Match` with the ETag of the
/// version being edited.
#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks",
    params(
        ("id" = uuid::Uuid, Path, description = "task id"),
        ("If-Match" = String, Header, description = "ETag of the version being edited, e.g. \"v3\""),
        ("coords" = Option<String>, Query, description = "gcj02 or bd09: the geometry is in that datum and is converted to WGS 84"),
    ),
    request_body(content = TaskInput, content_type = "application/geo+json",
                 description = "a partial Feature: geometry and/or some properties"),
    responses(
        (status = 200, description = "Updated; the new ETag is set", body = TaskFeature, content_type = "application/geo+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone changed the task meanwhile: `current_version` and `current` (the task as it is now) are in the body; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    principal: Principal,
    TaskId(id): TaskId,
    headers: HeaderMap,
    QueryPairs(query): QueryPairs,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    patch_from_request(&state, &principal, id, &headers, &query, &body).await
}

/// A partial edit (for /api/tasks and the OGC items): If-Match, then the patch.
pub async fn patch_from_request(
    state: &AppState,
    principal: &Principal,
    id: uuid::Uuid,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &serde_json::Value,
) -> Result<Response> {
    let user = principal.require_staff("edit tasks")?;
    let expected = if_match_version(headers)?;
    let write = WriteQuery::parse(query).map_err(ApiError::bad_query)?;
    let patch = TaskPatch::parse(body).map_err(ApiError::invalid)?;
    if patch.is_empty() {
        return Err(ApiError::invalid_field(
            "",
            Code::EmptyPatch,
            "the patch changes nothing: send a geometry and/or properties to change",
        ));
    }
    save_patch(state, &principal.viewer(), user.id, id, expected, write, patch).await
}

/// Applies an edit made at version `expected` (If-Match) and answers with the task as it is now,
/// or 412 when someone else changed it first.
pub async fn save_patch(
    state: &AppState,
    viewer: &Viewer,
    by: uuid::Uuid,
    id: uuid::Uuid,
    expected: i32,
    write: WriteQuery,
    mut patch: TaskPatch,
) -> Result<Response> {
    patch.geometry = patch.geometry.map(|g| write.datum.geometry_to_wgs84(&g));
    let update = store::update(&state.db, id, expected, &patch, Utc::now(), by, write.accept_outside).await;
    answer_update(state, id, viewer, expected, update).await
}
