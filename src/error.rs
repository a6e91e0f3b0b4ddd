//! The one error type. Every refusal leaves as RFC 9457 problem+json: a `type`, a `title`, the
//! `status`, a `detail` a person can act on, and for input errors an `errors` list pointing (RFC 6901
//! JSON pointers) at each offending field or coordinate, each with a stable `code` and its `params`.
//! `detail`s are written in the language the request prefers (`Accept-Language`; Chinese unless it
//! asks for English), from the tables of `domain::messages`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::messages::{self, Lang};
use crate::domain::workflow::Refusal;
use crate::domain::{Code, Message};
use crate::http::lang;
use crate::http::trace::RequestId;
use crate::store::StoreError;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

pub use crate::domain::FieldError;

/// Every kind of refusal the service gives: its `type` slug and its HTTP status, in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    BadRequest,
    MalformedJson,
    InvalidQuery,
    InvalidInput,
    Unauthenticated,
    WrongCredentials,
    Forbidden,
    /// An account with a temporary password asked for anything but choosing its own.
    PasswordChangeRequired,
    /// The password was right; the account uses two-step verification and no code came with it.
    SecondFactorRequired,
    /// The code (or recovery code) sent with a login is wrong or was used already.
    WrongSecondFactor,
    /// A web session of an account the policy requires two-step verification of, not yet turned on,
    /// asked for anything but enrolling.
    TwoFactorEnrolmentRequired,
    NotFound,
    MethodNotAllowed,
    Conflict,
    VersionMismatch,
    TooLarge,
    UnsupportedMediaType,
    TooManyRows,
    PreconditionRequired,
    TooManyLogins,
    Internal,
    Unavailable,
}

impl ProblemKind {
    const TABLE: &'static [(ProblemKind, &'static str, StatusCode)] = &[
        (ProblemKind::BadRequest, "bad-request", StatusCode::BAD_REQUEST),
        (ProblemKind::MalformedJson, "malformed-json", StatusCode::BAD_REQUEST),
        (ProblemKind::InvalidQuery, "invalid-query", StatusCode::BAD_REQUEST),
        (ProblemKind::InvalidInput, "invalid-input", StatusCode::UNPROCESSABLE_ENTITY),
        (ProblemKind::Unauthenticated, "unauthenticated", StatusCode::UNAUTHORIZED),
        (ProblemKind::WrongCredentials, "wrong-credentials", StatusCode::UNAUTHORIZED),
        (ProblemKind::Forbidden, "forbidden", StatusCode::FORBIDDEN),
        (ProblemKind::PasswordChangeRequired, "password-change-required", StatusCode::FORBIDDEN),
        (ProblemKind::SecondFactorRequired, "second-factor-required", StatusCode::UNAUTHORIZED),
        (ProblemKind::WrongSecondFactor, "wrong-second-factor", StatusCode::UNAUTHORIZED),
        (ProblemKind::TwoFactorEnrolmentRequired, "two-factor-enrolment-required", StatusCode::FORBIDDEN),
        (ProblemKind::NotFound, "not-found", StatusCode::NOT_FOUND),
        (ProblemKind::MethodNotAllowed, "method-not-allowed", StatusCode::METHOD_NOT_ALLOWED),
        (ProblemKind::Conflict, "conflict", StatusCode::CONFLICT),
        (ProblemKind::VersionMismatch, "version-mismatch", StatusCode::PRECONDITION_FAILED),
        (ProblemKind::TooLarge, "too-large", StatusCode::PAYLOAD_TOO_LARGE),
        (ProblemKind::UnsupportedMediaType, "unsupported-media-type", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (ProblemKind::TooManyRows, "too-many-rows", StatusCode::UNPROCESSABLE_ENTITY),
        (ProblemKind::PreconditionRequired, "precondition-required", StatusCode::PRECONDITION_REQUIRED),
        (ProblemKind::TooManyLogins, "too-many-logins", StatusCode::TOO_MANY_REQUESTS),
        (ProblemKind::Internal, "internal", StatusCode::INTERNAL_SERVER_ERROR),
        (ProblemKind::Unavailable, "unavailable", StatusCode::SERVICE_UNAVAILABLE),
    ];

    fn row(self) -> &'static (ProblemKind, &'static str, StatusCode) {
        Self::TABLE.iter().find(|(k, _, _)| *k == self).expect("every problem kind is in the table")
    }

    /// The slug, exposed as `type: "/problems/<slug>"`.
    pub fn slug(self) -> &'static str {
        self.row().1
    }

    pub fn status(self) -> StatusCode {
        self.row().2
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub kind: ProblemKind,
    /// In English; `problem` writes it in the request's language.
    pub detail: String,
    /// The refusal's own code, where the kind alone does not say enough (which state, which action).
    pub reason: Option<Box<Message>>,
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
    /// What went wrong, in the language the request prefers (`Accept-Language`: Chinese unless it
    /// prefers English).
    pub detail: String,
    /// For refusals that are not about one field (a task's state, who may act): what kind, so a
    /// client can word it itself; with `params`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub params: Option<Map<String, Value>>,
    /// Each offending field or coordinate, with its own `code`, `params` and `detail`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The id of the request (as in its `X-Request-Id` header), to quote when reporting a problem:
    /// the service's log lines for the request carry the same id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            reason: None,
            errors: Vec::new(),
            extensions: Map::new(),
            headers: Vec::new(),
        }
    }

    /// A refusal of `kind` for a reason that has its own code.
    pub fn refused(kind: ProblemKind, reason: Message) -> Self {
        let detail = reason.detail.clone();
        Self { reason: Some(Box::new(reason)), ..Self::new(kind, detail) }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::BadRequest, detail)
    }

    /// 400 for a query string: each error names the parameter.
    pub fn bad_query(errors: Vec<FieldError>) -> Self {
        let detail = messages::summary("the query string is invalid", &errors, Lang::En);
        Self { errors, ..Self::new(ProblemKind::InvalidQuery, detail) }
    }

    /// 422 for a well-formed body whose content breaks the rules.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = messages::summary("the request body is invalid", &errors, Lang::En);
        Self { errors, ..Self::new(ProblemKind::InvalidInput, detail) }
    }

    pub fn invalid_field(pointer: impl Into<String>, code: Code, detail: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(pointer, code, detail)])
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Forbidden, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Conflict, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unavailable, detail)
    }

    pub fn internal() -> Self {
        Self::new(ProblemKind::Internal, "the server failed to handle the request; it has been logged")
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The problem document in `lang`.
    pub fn problem(&self, lang: Lang) -> Problem {
        let status = self.status();
        Problem {
            kind: format!("/problems/{}", self.kind.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail_in(lang),
            code: self.reason.as_ref().map(|r| r.code),
            params: self.reason.as_ref().map(|r| r.params.clone()),
            errors: self.errors.iter().map(|e| e.localized(lang)).collect(),
            request_id: RequestId::current().map(|id| id.as_str().to_owned()),
        }
    }

    /// The detail in `lang`: English as written; Chinese from the refusal's code, else from its
    /// first field error, else the sentence for its kind.
    fn detail_in(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.detail.clone();
        }
        let kind = messages::problem_zh(self.kind.slug()).unwrap_or("请求未能完成");
        match &self.reason {
            Some(reason) => reason.render(lang),
            None => messages::summary(kind, &self.errors, lang),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.detail)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let lang = lang::current();
        let mut body = match serde_json::to_value(self.problem(lang)) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        body.extend(self.extensions);
        let mut response = (self.kind.status(), axum::Json(Value::Object(body))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
        headers.append(header::VARY, HeaderValue::from_static("accept-language"));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => ApiError::not_found(what),
            // The handler adds the record as it is now (`current`) where it has one to show.
            StoreError::Stale { current_version } => ApiError::new(
                ProblemKind::VersionMismatch,
                format!(
                    "the record was changed by someone else since you read it; it is now at version {current_version}"
                ),
            )
            .with("current_version", current_version),
            StoreError::BadReference(e) => ApiError::invalid(vec![e]),
            StoreError::BadQuery(errors) => ApiError::bad_query(errors),
            StoreError::Invalid(errors) => ApiError::invalid(errors),
            StoreError::Conflict(why) => ApiError::conflict(why),
            StoreError::Refused(r) => r.into(),
            StoreError::PhotoNotStored(e) => {
                tracing::error!(error = %e, "cannot store a report photo");
                ApiError::unavailable("the photo could not be stored; nothing was saved, send the report again")
            }
            StoreError::Database(err) => database(err),
        }
    }
}

fn database(err: sqlx::Error) -> ApiError {
    if crate::store::is_read_only(&err) || (crate::store::is_transient(&err) && crate::store::replicas::primary_gone())
    {
        tracing::warn!(error = %err, "a write reached a read-only database");
        return ApiError::unavailable(
            "the ledger is read-only for now (its database is a standby, or in maintenance): reading works; \
             send the change again later (a create sent again with the same Idempotency-Key is stored once)",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    if crate::store::is_transient(&err) {
        if matches!(err, sqlx::Error::PoolTimedOut) {
            crate::http::metrics::POOL_TIMEOUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::error!(error = %err, "database unreachable");
        // Whether a write that was cut off was stored is unknown to us too: the answer says how to
        // find out safely.
        return ApiError::unavailable(
            "the database is unreachable or restarting; try again shortly (a create sent again with the same Idempotency-Key is stored once)",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    tracing::error!(error = %err, "database error");
    ApiError::internal()
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::from(err).into()
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden(why) => ApiError::refused(ProblemKind::Forbidden, why),
            Refusal::WrongState(why) => ApiError::refused(ProblemKind::Conflict, why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_problem_has_its_chinese_sentence() {
        for (kind, slug, _) in ProblemKind::TABLE {
            let zh = messages::problem_zh(slug).unwrap_or_else(|| panic!("{kind:?} has no Chinese sentence"));
            assert!(!messages::has_latin(zh), "{slug}: {zh}");
        }
    }

    #[test]
    fn the_detail_is_chinese_unless_english_is_asked_for() {
        let e = ApiError::invalid(vec![
            FieldError::new("/properties/title", Code::Required, "'title' is required"),
            FieldError::new("/properties/due_date", Code::Format, "'2026-13-01' is not a date")
                .with("expected", "date")
                .with("got", "2026-13-01"),
        ]);
        let en = e.problem(Lang::En);
        assert_eq!(en.detail, "the request body is invalid: /properties/title: 'title' is required (and 1 more)");
        assert_eq!(en.errors[1].detail, "'2026-13-01' is not a date");
        let zh = e.problem(Lang::Zh);
        assert_eq!(zh.detail, "填写的内容有误：任务名称：必填（另有 1 处）");
        assert_eq!(zh.errors[1].detail, "“2026-13-01”不是有效的日期（年-月-日）");
        assert_eq!((zh.errors[1].code, &zh.errors[1].pointer), (Code::Format, &"/properties/due_date".to_owned()));
        let gone = ApiError::not_found("there is no task 1");
        assert_eq!(gone.problem(Lang::Zh).detail, "找不到所请求的内容");
        let refused = ApiError::from(Refusal::WrongState(Message::new(
            Code::AlreadySupervised,
            "the task is already under supervision",
        )));
        let p = refused.problem(Lang::Zh);
        assert_eq!((p.detail.as_str(), p.code), ("任务已在督办中", Some(Code::AlreadySupervised)));
    }
}
