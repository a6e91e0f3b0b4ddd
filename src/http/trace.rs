//! Every request's id and its tracing span. The span names the matched route (`/api/tasks/{id}`,
//! not the path with the id in it) so log lines group by endpoint, and carries the request id that
//! the response returns in `X-Request-Id`, so a caller's complaint can be found in the log.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-supplied id kept; longer ones are replaced rather than cut, as a cut id would
/// no longer match the caller's own records.
const MAX_LEN: usize = 64;

/// The id of the request being served: in the request's extensions for extractors, and in
/// [`RequestId::current`] for code that has no request at hand (turning an error into a response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

tokio::task_local! {
    static CURRENT: RequestId;
}

impl RequestId {
    /// The caller's id when it is a short token of URL-safe characters (a proxy's or client's
    /// correlation id), otherwise a fresh one: anything else could forge or flood log lines.
    pub fn from_header(value: Option<&HeaderValue>) -> Self {
        match value.map(HeaderValue::as_bytes) {
            Some(bytes) if is_acceptable(bytes) => Self(String::from_utf8_lossy(bytes).into_owned()),
            _ => Self(uuid::Uuid::new_v4().to_string()),
        }
    }

    /// The id of the request whose handling is running on this task, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_acceptable(bytes: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(b))
}

/// The middleware: gives the request its id, serves it inside a span of id, method and route, and
/// logs one line when the answer's head is ready (a streamed export body may still be flowing).
/// Applied with `Router::layer`, so it runs after routing and sees the matched route.
pub async fn request_span(mut req: Request, next: Next) -> Response {
    let id = RequestId::from_header(req.headers().get(&X_REQUEST_ID));
    // Routes without a pattern are the web folder's files.
    let route = req.extensions().get::<MatchedPath>().map_or("(web files)", MatchedPath::as_str).to_owned();
    let span = tracing::info_span!("request", id = %id.as_str(), method = %req.method(), route = %route);
    req.extensions_mut().insert(id.clone());
    let started = Instant::now();
    let mut res = CURRENT.scope(id.clone(), next.run(req)).instrument(span.clone()).await;
    let (status, latency) = (res.status().as_u16(), started.elapsed());
    span.in_scope(|| {
        if res.status().is_server_error() {
            tracing::error!(status, ?latency, "answered");
        } else {
            tracing::info!(status, ?latency, "answered");
        }
    });
    let value = HeaderValue::from_str(id.as_str()).expect("a request id is a valid header value");
    res.headers_mut().insert(X_REQUEST_ID, value);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(header: &str) -> String {
        RequestId::from_header(Some(&HeaderValue::from_str(header).unwrap())).0
    }

    #[test]
    fn a_short_token_from_the_caller_is_kept() {
        assert_eq!(id_for("req-42_a.b:c"), "req-42_a.b:c");
        assert_eq!(id_for(&"a".repeat(MAX_LEN)), "a".repeat(MAX_LEN));
    }

    #[test]
    fn a_long_or_odd_id_is_replaced_by_a_fresh_one() {
        for bad in ["a".repeat(MAX_LEN + 1), "two words".into(), "id\"quoted\"".into(), String::new()] {
            let got = id_for(&bad);
            assert_ne!(got, bad);
            assert!(uuid::Uuid::parse_str(&got).is_ok(), "{got}");
        }
        let missing = RequestId::from_header(None).0;
        assert!(uuid::Uuid::parse_str(&missing).is_ok(), "{missing}");
        assert_ne!(missing, RequestId::from_header(None).0);
    }

    #[tokio::test]
    async fn the_current_id_is_known_only_while_its_request_is_served() {
        assert_eq!(RequestId::current(), None);
        let id = id_for("r-1");
        let seen = CURRENT.scope(RequestId(id.clone()), async { RequestId::current() }).await;
        assert_eq!(seen, Some(RequestId(id)));
    }
}
