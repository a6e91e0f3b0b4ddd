use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use crate::error::{ApiError, Problem, Result};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "ok")]
    pub database: &'static str,
    #[schema(example = "3.3.2")]
    pub postgis: String,
}

/// Whether the service can reach its database.
#[utoipa::path(get, path = "/api/health", tag = "service",
    responses(
        (status = 200, description = "Up, database reachable", body = Health),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>> {
    // A load balancer polls this: answer within a few seconds whatever the pool is doing.
    match tokio::time::timeout(Duration::from_secs(3), crate::store::postgis_version(&state.db)).await {
        Ok(Ok(postgis)) => Ok(Json(Health { status: "ok", database: "ok", postgis })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            Err(ApiError::unavailable(format!("the database is unreachable: {e}")))
        }
        Err(_) => Err(ApiError::unavailable("the database did not answer within 3 s")),
    }
}
