//! The reader's language for what the service writes itself: the `detail` of a refusal. Read once
//! per request from `Accept-Language` and kept for the request's task, so an error turned into a
//! response far from any request (an extractor's rejection, `?` in a handler) is worded for its
//! reader; handlers that write refusals into a success body (an import's report) take `Lang`.

use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderMap, header, request::Parts};
use axum::middleware::Next;
use axum::response::Response;

pub use crate::domain::Lang;

tokio::task_local! {
    static CURRENT: Lang;
}

/// The language the headers prefer (Chinese unless English is).
pub fn of(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// The language of the request being served; Chinese outside one.
pub fn current() -> Lang {
    CURRENT.try_with(|l| *l).unwrap_or_default()
}

/// The middleware: serves the request with its language known to `current`.
pub async fn scope(req: Request, next: Next) -> Response {
    let lang = of(req.headers());
    CURRENT.scope(lang, next.run(req)).await
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(of(&parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_language_is_known_while_its_request_is_served() {
        assert_eq!(current(), Lang::Zh);
        assert_eq!(CURRENT.scope(Lang::En, async { current() }).await, Lang::En);
    }
}
