//! Health for three audiences: `/api/health` (the database answers, with PostGIS's version),
//! `/api/health/live` (the process answers: a supervisor restarts it when this fails) and
//! `/api/health/ready` (the database answers and carries every migration this binary knows: a
//! load balancer sends traffic only then, e.g. not during an upgrade whose migrations are pending).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use crate::error::{ApiError, Problem, Result};

/// A load balancer polls these: answer within a few seconds whatever the pool is doing.
const DEADLINE: Duration = Duration::from_secs(3);

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "ok")]
    pub database: &'static str,
    #[schema(example = "3.3.2")]
    pub postgis: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Liveness {
    #[schema(example = "up")]
    pub status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The number of migrations applied (all that this version of the service knows).
    #[schema(example = 7)]
    pub migrations: usize,
}

/// Whether the service can reach its database.
#[utoipa::path(get, path = "/api/health", tag = "service",
    responses(
        (status = 200, description = "Up, database reachable", body = Health),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>> {
    let postgis = within_deadline(crate::store::held::read(&state.held, crate::store::postgis_version)).await?;
    Ok(Json(Health { status: "ok", database: "ok", postgis }))
}

/// Whether the process answers at all; touches nothing else.
#[utoipa::path(get, path = "/api/health/live", tag = "service",
    responses((status = 200, description = "The process answers", body = Liveness)))]
pub async fn live() -> Json<Liveness> {
    Json(Liveness { status: "up" })
}

/// Whether the service can serve: the database answers and all its migrations are applied.
#[utoipa::path(get, path = "/api/health/ready", tag = "service",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database is unreachable or migrations are pending", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>> {
    let pending = within_deadline(crate::store::pending_migrations(&state.db)).await?;
    if let Some(first) = pending.first() {
        return Err(ApiError::unavailable(format!(
            "{} database migration(s) are pending (the first is {first}); run `greenledger migrate`",
            pending.len()
        ))
        .with("pending_migrations", pending.clone()));
    }
    Ok(Json(Readiness { status: "ready", migrations: crate::store::MIGRATOR.iter().count() }))
}

async fn within_deadline<T>(query: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T> {
    match tokio::time::timeout(DEADLINE, query).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            Err(ApiError::unavailable(format!("the database is unreachable: {e}")))
        }
        Err(_) => Err(ApiError::unavailable("the database did not answer within 3 s")),
    }
}
