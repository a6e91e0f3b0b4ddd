//! Request parts read the way every endpoint needs them, refusing with the one error format
//! instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::text;
use crate::error::{ApiError, ProblemKind};

/// Largest JSON body accepted: a 10,000-vertex geometry with its properties fits several times over.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON request body (`application/json`, `application/geo+json` or any `+json` type).
pub struct JsonBody(pub Value);

/// True for `application/json` and every `application/…+json` type.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            let got = if content_type.is_empty() { "no Content-Type".to_owned() } else { format!("'{content_type}'") };
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                format!("send JSON with Content-Type: application/geo+json (or application/json); got {got}"),
            ));
        }
        let too_large =
            || ApiError::new(ProblemKind::TooLarge, format!("the body is larger than {} KiB", MAX_JSON_BODY / 1024));
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_JSON_BODY) {
            return Err(too_large());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            other => ApiError::bad_request(format!("could not read the body: {other}")),
        })?;
        if bytes.len() > MAX_JSON_BODY {
            return Err(too_large());
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON document, refused when it is not JSON text (400) or holds U+0000 anywhere (422, at its
/// pointer), which no stored text can hold.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(ProblemKind::MalformedJson, format!("the body is not valid JSON: {e}")))?;
    match text::nul_in_json(&value, "") {
        Some(pointer) => Err(ApiError::invalid(vec![
            text::nul_refusal("holds the character U+0000, which no text can hold").at(pointer),
        ])),
        None => Ok(value),
    }
}

/// The raw query string as name/value pairs, in order, for strict parsing by the domain.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        text::query_pairs(q).map(QueryPairs).map_err(ApiError::bad_query)
    }
}

/// A task id from the path; a malformed one is a 400 that says what an id looks like.
pub struct TaskId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for TaskId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        Uuid::parse_str(&raw).map(TaskId).map_err(|_| {
            ApiError::bad_request(format!(
                "'{raw}' is not a task id: ids are UUIDs such as 2f1c6a8e-4b7d-4c1e-9a55-0d3f1e2b7c44"
            ))
        })
    }
}

/// The ETag of a task at a version.
pub fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).expect("digits are a valid header value")
}

/// The version an `If-Match` header names. Writes without one are refused (428): the caller must
/// show it has seen the current state, so nobody overwrites a change they never saw.
pub fn if_match_version(headers: &HeaderMap) -> Result<i32, ApiError> {
    let required = |detail: &str| ApiError::new(ProblemKind::PreconditionRequired, detail.to_owned());
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(required(
            "send If-Match with the ETag from your last read of this task, so a change made meanwhile by someone else is not overwritten",
        ));
    };
    let value = value.to_str().unwrap_or("").trim();
    if value == "*" {
        return Err(required("If-Match: * is not accepted: send the ETag of the version you edited"));
    }
    value.strip_prefix("\"v").and_then(|v| v.strip_suffix('"')).and_then(|v| v.parse().ok()).ok_or_else(|| {
        ApiError::bad_request(format!(
            "If-Match '{value}' is not an ETag of this API (they look like \"v3\"; weak tags W/ are not accepted)"
        ))
    })
}

/// True when `If-None-Match` already names this version (the client's copy is current).
pub fn not_modified(headers: &HeaderMap, current: &HeaderValue) -> bool {
    let Some(v) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else { return false };
    let current = current.to_str().unwrap_or("");
    v.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == current || t == "*")
}

/// The client's address, for login limits and the audit trail (see `auth::request_address`).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(crate::auth::request_address(parts)))
    }
}

/// A resource id from the path (users, tokens); a malformed one is a 400.
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        Uuid::parse_str(&raw).map(PathId).map_err(|_| ApiError::bad_request(format!("'{raw}' is not an id (a UUID)")))
    }
}

/// The cookie that sends a caller who has just written to the primary for its reads.
pub const WROTE_COOKIE: &str = "gl_wrote";

/// The database a read goes to: a replica of the read pool, or the primary when the caller wrote
/// within the replicas' lag bound (the `gl_wrote` cookie, honoured by every instance) or when no
/// replica is in the pool. What it reads may be up to that bound old, never the caller's own
/// write missing.
pub struct Reads(pub crate::store::Db);

impl FromRequestParts<crate::http::AppState> for Reads {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::http::AppState) -> Result<Self, Self::Rejection> {
        let wrote = crate::auth::cookie(&parts.headers, WROTE_COOKIE).is_some();
        Ok(Reads(if wrote { state.db.clone() } else { state.reads.read().clone() }))
    }
}

/// After a change that was stored, the caller reads from the primary for as long as a replica
/// may lag (`Reads`): a cookie, so that the instance that answers next need not be this one.
pub async fn mark_writers(
    axum::extract::State(state): axum::extract::State<crate::http::AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let write =
        !matches!(req.method(), &axum::http::Method::GET | &axum::http::Method::HEAD | &axum::http::Method::OPTIONS);
    let mut res = next.run(req).await;
    if write && res.status().is_success() {
        let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
        let cookie = format!(
            "{WROTE_COOKIE}=1; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            state.reads.max_lag().as_secs() + 1
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/geo+json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("multipart/form-data; boundary=x"));
        assert!(!is_json(""));
    }

    #[test]
    fn if_match_reads_our_etags_only() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match_version(&h).unwrap_err().status(), StatusCode::PRECONDITION_REQUIRED);
        h.insert(header::IF_MATCH, etag(7));
        assert_eq!(if_match_version(&h).unwrap(), 7);
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"v7\""));
        assert_eq!(if_match_version(&h).unwrap_err().status(), StatusCode::BAD_REQUEST);
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match_version(&h).unwrap_err().status(), StatusCode::PRECONDITION_REQUIRED);
    }
}
