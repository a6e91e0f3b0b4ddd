//! Security headers on every answer, the API's and the web folder's alike: a Content-Security-Policy
//! that runs no inline script, framing refused, no content sniffing, no referrer sent off the site,
//! and HSTS when the service is reached over https.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The headers fixed at start-up; HSTS is added per request.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    always_https: bool,
}

/// `scheme://host` of a tile URL template as a CSP source; a host label holding a placeholder
/// (`{s}.tile.openstreetmap.org`, `t{s}.tianditu.gov.cn`) becomes the wildcard `*`, which CSP allows
/// only as the leftmost label, so anything after such a label is kept as it is.
pub fn tile_source(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
    let labels: Vec<&str> = host.split('.').collect();
    let templated = labels.iter().rposition(|l| l.contains('{'));
    let host = match templated {
        Some(i) => format!("*.{}", labels[i + 1..].join(".")),
        None => host.to_owned(),
    };
    let safe = host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:*".contains(c));
    safe.then(|| format!("{scheme}://{host}"))
}

/// The contents of the inline scripts of a page (the import map, which browsers accept only
/// inline), hashed as CSP `'sha256-…'` sources.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let tag_end = match rest[start..].find('>') {
            Some(e) => start + e + 1,
            None => break,
        };
        let Some(close) = rest[tag_end..].find("</script>") else { break };
        let body = &rest[tag_end..tag_end + close];
        if !body.trim().is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            out.push(format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest)));
        }
        rest = &rest[tag_end + close..];
    }
    out
}

/// The policy: our own origin for everything, the import map by hash, tiles from the configured
/// tile server, and nothing may frame us.
pub fn policy(script_hashes: &[String], tile_url: Option<&str>) -> String {
    let scripts = std::iter::once("'self'".to_owned()).chain(script_hashes.iter().cloned()).collect::<Vec<_>>();
    let images = ["'self'", "data:", "blob:"].map(str::to_owned).into_iter().chain(tile_url.and_then(tile_source));
    format!(
        "default-src 'self'; script-src {}; style-src 'self'; img-src {}; connect-src 'self'; \
         worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        scripts.join(" "),
        images.collect::<Vec<_>>().join(" ")
    )
}

impl SecurityHeaders {
    /// Allows the inline scripts of the page as it is served (`page`: the rendered shell, whose
    /// import map names versioned paths; empty for an API-only service).
    pub fn new(page: &str, tile_url: Option<&str>, always_https: bool) -> Self {
        let csp = policy(&inline_script_hashes(page), tile_url);
        let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
        Self { csp, always_https }
    }

    fn apply(&self, request_https: bool, headers: &mut HeaderMap) {
        let fixed: [(HeaderName, HeaderValue); 4] = [
            (header::CONTENT_SECURITY_POLICY, self.csp.clone()),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin")),
        ];
        for (name, value) in fixed {
            headers.insert(name, value);
        }
        if self.always_https || request_https {
            let hsts = HeaderValue::from_static("max-age=31536000; includeSubDomains");
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
        }
    }
}

/// The middleware: `from_fn` with the headers captured.
pub async fn add(headers: Arc<SecurityHeaders>, req: Request<axum::body::Body>, next: Next) -> Response {
    let https = req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let mut res = next.run(req).await;
    headers.apply(https, res.headers_mut());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_hosts_become_sources_with_placeholders_as_wildcards() {
        let osm = tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png");
        assert_eq!(osm.as_deref(), Some("https://*.tile.openstreetmap.org"));
        let tdt = tile_source("http://t{s}.tianditu.gov.cn/vec_w/wmts?tk=abc&x={x}");
        assert_eq!(tdt.as_deref(), Some("http://*.tianditu.gov.cn"));
        let plain = tile_source("https://tiles.example.cn:8443/{z}/{x}/{y}.png");
        assert_eq!(plain.as_deref(), Some("https://tiles.example.cn:8443"));
        assert_eq!(tile_source("javascript:alert(1)"), None);
        assert_eq!(tile_source("https://evil.example; script-src *"), None);
    }

    #[test]
    fn the_import_map_is_hashed_and_external_scripts_are_not() {
        let html = "<script type=\"importmap\">{\"imports\":{}}</script><script src=\"/js/app.js\"></script>";
        let hashes = inline_script_hashes(html);
        // sha256 of {"imports":{}} in base64, as `openssl dgst -sha256 -binary | base64` prints it.
        assert_eq!(hashes, ["'sha256-URrTy+Il/Nz0lHojVUx275hWqAWhkSF0VsHbUM4/6Hw='"]);
    }

    #[test]
    fn the_policy_runs_no_inline_script_and_refuses_framing() {
        let p = policy(&["'sha256-x'".into()], Some("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"));
        assert!(p.contains("script-src 'self' 'sha256-x';"));
        assert!(!p.contains("unsafe-inline") && !p.contains("unsafe-eval"));
        assert!(p.contains("img-src 'self' data: blob: https://*.tile.openstreetmap.org;"));
        assert!(p.ends_with("frame-ancestors 'none'"));
    }
}
