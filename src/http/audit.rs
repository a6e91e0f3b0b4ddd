//! The security audit trail over HTTP: administrators read it (JSON, newest first, paged) and
//! download it as CSV; handlers record events through `Witness`, which knows where a request came
//! from.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::Response;

use super::AppState;
use super::extract::{ClientAddr, QueryPairs};
use crate::auth::{Principal, User};
use crate::domain::audit::{
    AUDIT_CSV_LIMIT, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, AuditFilter, SecurityEvent, SecurityEventKind,
};
use crate::error::{ApiError, Problem, Result};
use crate::export::audit as audit_csv;
use crate::store::audit::{self, AuditEntry};

/// Where a request came from (the client's address, its user agent): what each recorded event
/// says besides what happened.
pub struct Witness {
    address: String,
    user_agent: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Witness {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ClientAddr(address) = ClientAddr::from_request_parts(parts, state).await?;
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        Ok(Witness { address, user_agent: user_agent.to_owned() })
    }
}

impl Witness {
    /// An event of `kind` seen from this request, with no actor yet.
    pub fn saw(&self, kind: SecurityEventKind) -> SecurityEvent {
        SecurityEvent::new(kind, &self.address, &self.user_agent)
    }

    /// An event of `kind` done by `user` from this request.
    pub fn saw_user(&self, kind: SecurityEventKind, user: &User) -> SecurityEvent {
        self.saw(kind).by(user.id, &user.username)
    }
}

/// Records `event`; an event that cannot be recorded fails the request it belongs to (a security
/// action the trail does not hold did not happen, as far as an assessor is concerned).
pub async fn record<'e>(conn: impl sqlx::PgExecutor<'e>, event: SecurityEvent) -> Result<()> {
    Ok(audit::record(conn, &event).await?)
}

/// The security events, newest first: logins (succeeded, failed, throttled), logouts, sessions
/// ended by the idle timeout or by an administrator, password changes, API tokens created and
/// revoked, account changes, and every export that held contact details. Filter by `kind` (a
/// comma list), `since`/`until` (RFC 3339), `username` (the actor or the account acted upon);
/// page with `before` (the last `id` of the previous page) and `limit` (1–1000, default 100).
#[utoipa::path(get, path = "/api/audit", tag = "admin",
    params(
        ("kind" = Option<String>, Query, description = "comma list of kinds"),
        ("since" = Option<String>, Query, description = "RFC 3339 time, inclusive"),
        ("until" = Option<String>, Query, description = "RFC 3339 time, exclusive"),
        ("username" = Option<String>, Query, description = "the actor's or the subject's username"),
        ("before" = Option<i64>, Query, description = "events with a smaller id (the next page)", minimum = 1),
        ("limit" = Option<i64>, Query, description = "events per page", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The events, newest first", body = Vec<AuditEntry>),
        (status = 400, description = "A parameter is unknown or malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Vec<AuditEntry>>> {
    principal.require_admin("read the security audit trail")?;
    let filter = AuditFilter::parse(&pairs, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT).map_err(ApiError::bad_query)?;
    Ok(Json(audit::list(&state.db, &filter).await?))
}

/// The security events as CSV (UTF-8 with a byte order mark, for Excel), newest first; the same
/// filters as GET /api/audit, up to 100,000 rows.
#[utoipa::path(get, path = "/api/audit.csv", tag = "admin",
    params(
        ("kind" = Option<String>, Query, description = "comma list of kinds"),
        ("since" = Option<String>, Query, description = "RFC 3339 time, inclusive"),
        ("until" = Option<String>, Query, description = "RFC 3339 time, exclusive"),
        ("username" = Option<String>, Query, description = "the actor's or the subject's username"),
        ("before" = Option<i64>, Query, description = "events with a smaller id", minimum = 1),
        ("limit" = Option<i64>, Query, description = "rows", minimum = 1, maximum = 100000),
    ),
    responses(
        (status = 200, description = "The events", content_type = "text/csv"),
        (status = 400, description = "A parameter is unknown or malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn csv(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response> {
    principal.require_admin("read the security audit trail")?;
    let filter = AuditFilter::parse(&pairs, AUDIT_CSV_LIMIT, AUDIT_CSV_LIMIT).map_err(ApiError::bad_query)?;
    let events = audit::list(&state.db, &filter).await?;
    let mut out = audit_csv::head();
    for e in &events {
        audit_csv::record(&mut out, e);
    }
    Ok(super::export::download("text/csv; charset=utf-8", "security-audit.csv", out))
}
