//! OGC API - Features Part 4 on the tasks collection: create (POST), replace (PUT) and update
//! (PATCH), so GIS staff edit the ledger from their client with a bureau token, under the same
//! rules, ETags and history as the map. Tasks are never deleted — the ledger keeps everything —
//! so DELETE answers 405 and says how to cancel one.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::auth::Principal;
use crate::domain::chinacoords::Datum;
use crate::domain::task::TaskPatch;
use crate::error::{ApiError, Problem, ProblemKind, Result};
use crate::http::AppState;
use crate::http::extract::{JsonBody, QueryPairs, if_match_version};
use crate::http::tasks::{self, TaskInput};

/// Writes go to the tasks collection only; the townships belong to administrators.
fn tasks_only(collection: &str) -> Result<()> {
    match collection {
        "tasks" => Ok(()),
        "townships" => Err(ApiError::new(
            ProblemKind::MethodNotAllowed,
            "the townships collection is read-only here: administrators change a township with PUT /api/townships/{code}",
        )
        .with_header(header::ALLOW, HeaderValue::from_static("GET"))),
        other => {
            Err(ApiError::not_found(format!("there is no collection '{other}'; collections are: tasks, townships")))
        }
    }
}

/// A task's feature id is its UUID; anything else names no feature (404, as for reads).
fn task_id(fid: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(fid).map_err(|_| ApiError::not_found(format!("there is no feature '{fid}' in tasks")))
}

/// Add a task (Part 4, create): a GeoJSON Feature, as for POST /api/tasks. Bureau staff only.
#[utoipa::path(post, path = "/ogc/collections/{collectionId}/items", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks"),
           ("coords" = Option<String>, Query, description = "gcj02 or bd09: the geometry is in that datum")),
    request_body(content = TaskInput, content_type = "application/geo+json"),
    responses(
        (status = 201, description = "Created; Location and ETag are set", content_type = "application/geo+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 405, description = "The townships collection is read-only", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid task", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    principal: Principal,
    QueryPairs(query): QueryPairs,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    tasks_only(&collection)?;
    tasks::create_from_feature(&state, &principal, &query, &body, "/ogc/collections/tasks/items").await
}

/// Replace a task (Part 4, replace): the whole Feature. Geometry, title and category are
/// required; a writable property left out is cleared or reset to its default (the reported
/// progress is kept). Read-only properties may be sent back unchanged; the status cannot change
/// here. Requires `If-Match`.
#[utoipa::path(put, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks"),
           ("featureId" = String, Path, description = "task id"),
           ("If-Match" = String, Header, description = "ETag of the version being replaced"),
           ("coords" = Option<String>, Query, description = "gcj02 or bd09: the geometry is in that datum")),
    request_body(content = TaskInput, content_type = "application/geo+json"),
    responses(
        (status = 200, description = "Replaced; the new ETag is set", content_type = "application/geo+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone changed the task meanwhile; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid task, or a change of status", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    Path((collection, fid)): Path<(String, String)>,
    principal: Principal,
    headers: HeaderMap,
    QueryPairs(query): QueryPairs,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    tasks_only(&collection)?;
    let user = principal.require_staff("replace tasks")?;
    let id = task_id(&fid)?;
    let expected = if_match_version(&headers)?;
    let datum = Datum::from_query(&query).map_err(ApiError::bad_query)?;
    let replacement = TaskPatch::replacement(&body).map_err(ApiError::invalid)?;
    let viewer = principal.viewer();
    let current = tasks::load(&state, id, &viewer).await?.properties.public;
    // Compared with the version the client read: a newer one ends in 412 below, not in a
    // complaint about a status the client never saw.
    let patch = if current.version == expected {
        replacement
            .against(&current.status, &current.township, current.township_overridden)
            .map_err(|e| ApiError::invalid(vec![e]))?
    } else {
        replacement.patch
    };
    tasks::save_patch(&state, &viewer, user.id, id, expected, datum, patch).await
}

/// Change part of a task (Part 4, update): a merge patch of the Feature, as for PATCH
/// /api/tasks/{id}. Requires `If-Match`.
#[utoipa::path(patch, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks"),
           ("featureId" = String, Path, description = "task id"),
           ("If-Match" = String, Header, description = "ETag of the version being edited"),
           ("coords" = Option<String>, Query, description = "gcj02 or bd09: the geometry is in that datum")),
    request_body(content = TaskInput, content_type = "application/merge-patch+json",
                 description = "geometry and/or some properties; null clears an optional property"),
    responses(
        (status = 200, description = "Updated; the new ETag is set", content_type = "application/geo+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bureau staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Someone changed the task meanwhile; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Path((collection, fid)): Path<(String, String)>,
    principal: Principal,
    headers: HeaderMap,
    QueryPairs(query): QueryPairs,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    tasks_only(&collection)?;
    tasks::patch_from_request(&state, &principal, task_id(&fid)?, &headers, &query, &body).await
}

/// Tasks are not deleted: 405, with how to cancel one instead.
#[utoipa::path(delete, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks"),
           ("featureId" = String, Path, description = "task id")),
    responses(
        (status = 405, description = "Tasks are never deleted; cancel one with POST /api/tasks/{id}/transitions", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(Path((collection, _)): Path<(String, String)>) -> Result<Response> {
    tasks_only(&collection)?;
    Err(ApiError::new(
        ProblemKind::MethodNotAllowed,
        "tasks are never deleted: the ledger keeps every task and its history. To withdraw one, cancel it with POST /api/tasks/{id}/transitions {\"action\": \"cancel\", \"reason\": \"...\"}",
    )
    .with_header(header::ALLOW, HeaderValue::from_static("GET, PUT, PATCH")))
}
