//! Conditional GETs for read-only answers (tiles, feature collections): a strong ETag from the
//! bytes, 304 when the client's copy is current, and caching rules that keep what one caller may
//! see out of shared caches.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::extract::not_modified;

/// How long anyone may reuse an anonymous answer without asking again. Short: the ledger changes
/// during the day and the public map should follow within a minute.
pub const PUBLIC_MAX_AGE: u32 = 60;

/// The ETag of a body: its XXH3-128, which tells changed bytes apart as well as a cryptographic
/// hash for this purpose (a tag is compared, never trusted) at a tenth of SHA-256's cost on a
/// crowded tile. Seedless, so every instance of a release tags the same bytes alike.
pub fn content_etag(body: &[u8]) -> HeaderValue {
    let tag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(body));
    HeaderValue::from_str(&tag).expect("hex is a valid header value")
}

/// `body` as a 200, or a 304 when `If-None-Match` already names it. `public` answers (the same for
/// every anonymous caller) may be kept by shared caches; others only by the caller's own, and only
/// after revalidation.
pub fn respond(request: &HeaderMap, public: bool, content_type: &'static str, body: Vec<u8>) -> Response {
    let tag = content_etag(&body);
    respond_tagged(request, public, content_type, body, tag)
}

/// As [`respond`], under a tag the caller chose: a task's version, which its edits' If-Match names.
pub fn respond_tagged(
    request: &HeaderMap,
    public: bool,
    content_type: &'static str,
    body: impl Into<Body>,
    tag: HeaderValue,
) -> Response {
    let cache_control = if public {
        HeaderValue::from_str(&format!("public, max-age={PUBLIC_MAX_AGE}")).expect("a valid header value")
    } else {
        HeaderValue::from_static("private, no-cache")
    };
    let mut res = if not_modified(request, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut res = Response::new(body.into());
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        res
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, tag);
    h.insert(header::CACHE_CONTROL, cache_control);
    // The same URL answers differently per caller: caches must key on who asks.
    h.insert(header::VARY, HeaderValue::from_static("Cookie, Authorization, Accept"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_the_bodys_unseeded_xxh3_128_so_every_instance_agrees() {
        // The reference value of XXH3-128 for no input, and one for a short body: a seeded or
        // per-process hasher would give other values, and instances would disagree.
        assert_eq!(content_etag(b""), "\"99aa06d3014798d86001c324468d497f\"");
        assert_eq!(content_etag(b"tile"), "\"e095edd98a7794d415d311750519249c\"");
        assert_ne!(content_etag(b"tile"), content_etag(b"tilf"));
    }

    #[test]
    fn a_matching_if_none_match_gets_304_with_the_same_tag() {
        let body = b"tile".to_vec();
        let mut h = HeaderMap::new();
        let first = respond(&h, true, "application/vnd.mapbox-vector-tile", body.clone());
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::CACHE_CONTROL], "public, max-age=60");
        h.insert(header::IF_NONE_MATCH, first.headers()[header::ETAG].clone());
        let second = respond(&h, false, "application/vnd.mapbox-vector-tile", body);
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(second.headers()[header::ETAG], first.headers()[header::ETAG]);
        assert_eq!(second.headers()[header::CACHE_CONTROL], "private, no-cache");
    }
}
