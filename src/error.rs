//! The one error type. Every refusal leaves as RFC 9457 problem+json: a `type`, a `title`, the
//! `status`, a `detail` a person can act on, and for input errors an `errors` list pointing (RFC 6901
//! JSON pointers) at each offending field or coordinate.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// One problem with one part of the input.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer into the request body (`/properties/progress`, `/geometry/coordinates/0/3/1`),
    /// or the query parameter name for query strings.
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Short machine-readable slug, exposed as `type: "/problems/<slug>"`.
    pub kind: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra members of the problem object (e.g. `current_version` on a 412).
    pub extensions: Map<String, Value>,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// The problem document, also used to describe errors in the OpenAPI description.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A relative URI naming the kind of problem, e.g. `/problems/invalid-input`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self { status, kind, detail: detail.into(), errors: Vec::new(), extensions: Map::new(), headers: Vec::new() }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 400 for a query string: each error names the parameter.
    pub fn bad_query(errors: Vec<FieldError>) -> Self {
        let detail = summarize("the query string is invalid", &errors);
        Self { errors, ..Self::new(StatusCode::BAD_REQUEST, "invalid-query", detail) }
    }

    /// 422 for a well-formed body whose content breaks the rules.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = summarize("the request body is invalid", &errors);
        Self { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", detail) }
    }

    pub fn invalid_field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(pointer, detail)])
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle the request; it has been logged",
        )
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("/problems/{}", self.kind),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

fn summarize(what: &str, errors: &[FieldError]) -> String {
    match errors {
        [] => what.to_owned(),
        [one] => format!("{what}: {}: {}", one.pointer, one.detail),
        [first, rest @ ..] => {
            format!("{what}: {}: {} (and {} more)", first.pointer, first.detail, rest.len())
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = match serde_json::to_value(self.problem()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        body.extend(self.extensions);
        let mut response = (self.status, axum::Json(Value::Object(body))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

/// SQLSTATEs our own triggers raise (see migrations).
const NO_TOWNSHIP: &str = "GL001";
const SWAPPED_AXES: &str = "GL002";

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) => {
                let code = db.code();
                match code.as_deref() {
                    Some(NO_TOWNSHIP) | Some(SWAPPED_AXES) => {
                        return ApiError::invalid_field("/geometry", db.message());
                    }
                    // A CHECK or foreign key caught what the Rust validation let through: still the
                    // caller's input, so a 422 naming the constraint rather than a 500.
                    Some("23514") | Some("23503") | Some("23502") => {
                        tracing::warn!(error = %db, "constraint caught input that validation passed");
                        let constraint = db.constraint().unwrap_or("a constraint");
                        return ApiError::invalid_field(
                            "",
                            format!("the data breaks the rule {constraint}: {}", db.message()),
                        );
                    }
                    Some("23505") => {
                        return ApiError::conflict(format!("a record with the same key exists: {}", db.message()));
                    }
                    _ => {}
                }
                tracing::error!(error = %err, "database error");
                ApiError::internal()
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::error!(error = %err, "database unreachable");
                ApiError::unavailable("the database is unreachable; try again shortly")
                    .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
            _ => {
                tracing::error!(error = %err, "database error");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::domain::workflow::Refusal> for ApiError {
    fn from(r: crate::domain::workflow::Refusal) -> Self {
        use crate::domain::workflow::Refusal;
        match r {
            Refusal::Forbidden(why) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", why),
            Refusal::WrongState(why) => ApiError::conflict(why),
        }
    }
}
