//! The HTTP API: one module per resource, thin handlers over `domain` and `store`.

pub mod extract;
pub mod health;
pub mod tasks;
pub mod townships;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use std::path::Path;

use axum::routing::{any, get};
use tower_http::services::ServeDir;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "greenledger",
        description = "The environmental bureau's remediation ledger (台账): tasks as GeoJSON features in PostGIS, \
                       rolled up by township. Errors are RFC 9457 problem+json documents; input errors carry an \
                       `errors` list of JSON pointers to the offending field or coordinate."
    ),
    tags(
        (name = "tasks", description = "Remediation tasks"),
        (name = "reference", description = "Townships and task families"),
        (name = "service", description = "Service status and description"),
    )
)]
struct ApiDoc;

/// The API routes and the OpenAPI description generated from the same handler annotations, so a
/// route cannot exist without its documentation.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(townships::list))
        .routes(routes!(townships::categories))
        .routes(routes!(tasks::list, tasks::create))
        .routes(routes!(tasks::get, tasks::patch))
        .split_for_parts()
}

/// The API under /api; anything else is looked up in the web folder (the map).
pub fn router(state: AppState, web_dir: &Path) -> Router {
    let (api, openapi) = api();
    let openapi = axum::Json(openapi);
    let not_found = |uri: Uri| async move { ApiError::not_found(format!("there is no endpoint {}", uri.path())) };
    api.route("/api/openapi.json", get(move || async move { openapi.clone() }))
        .route("/api/{*rest}", any(not_found))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this endpoint does not accept that method",
            )
        })
        .layer(DefaultBodyLimit::max(extract::MAX_JSON_BODY))
        .with_state(state)
        .fallback_service(ServeDir::new(web_dir).fallback(get(not_found)))
}
