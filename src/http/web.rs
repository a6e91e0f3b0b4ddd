//! The map's side of the service: the settings the front end reads at start, and the static files
//! of web/ (our modules, and the libraries npm put in web/node_modules) with cache rules, the page
//! and the service worker rendered with the shell's version (shell.rs).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use tower_http::services::ServeDir;

use super::AppState;
use super::shell::{self, Shell};

/// A background tile layer (OpenStreetMap, Tianditu 天地图...). Without one the map draws our own
/// township boundaries as its base, which is what a machine without internet access gets.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct TileLayer {
    /// URL template with {z}/{x}/{y} (and {s} for subdomains), e.g.
    /// `https://tile.openstreetmap.org/{z}/{x}/{y}.png`.
    pub url: String,
    /// Credit line the tile provider requires on the map.
    pub attribution: String,
}

/// What the map needs to know before it draws.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct MapConfig {
    /// The optional background tile layer; null draws no tiles.
    pub tile_layer: Option<TileLayer>,
    /// The county's IANA time zone (GREENLEDGER_TIMEZONE): the map shows times and counts months
    /// in it, whatever zone the reader's device is set to.
    pub timezone: String,
}

/// Settings of the web map.
#[utoipa::path(get, path = "/api/config", tag = "service",
    responses((status = 200, description = "Map settings", body = MapConfig)))]
pub async fn config(State(state): State<AppState>) -> Json<MapConfig> {
    Json(state.settings.map.clone())
}

/// How long a browser may keep a file, by its URL. A versioned URL (`/v/<version>/js/app.js`,
/// src/http/shell.rs) of the current version names exactly one content, so it is kept a year and
/// never revalidated; an old version's URL is answered with today's file, so it is revalidated.
/// Libraries under their plain URL change only with web/package-lock.json: a day. Everything else,
/// the page and the service worker included, is revalidated (ServeDir answers 304 on Last-Modified).
pub fn cache_rule(path: &str, version: &str) -> &'static str {
    match shell::split_version(path) {
        Some((v, _)) if !version.is_empty() && v == version => "public, max-age=31536000, immutable",
        Some(_) => "no-cache",
        None if path.starts_with("/node_modules/") => "public, max-age=86400",
        None => "no-cache",
    }
}

/// Serves a versioned URL as the file under its plain path, with the cache rule of its URL.
async fn cache_rules(State(version): State<Arc<str>>, mut req: Request<axum::body::Body>, next: Next) -> Response {
    let rule = cache_rule(req.uri().path(), &version);
    if let Some((_, plain)) = shell::split_version(req.uri().path()) {
        let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
        if let Ok(uri) = format!("{plain}{query}").parse() {
            *req.uri_mut() = uri;
        }
    }
    let mut res = next.run(req).await;
    if res.status().is_success() && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(rule));
    }
    res
}

/// A rendered part of the shell (the page, the service worker), always revalidated.
fn rendered(body: &str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body.to_owned()).into_response()
}

/// The shell rendered from the web folder once at start (empty when the folder cannot be read).
pub fn load_shell(web_dir: &Path) -> Arc<Shell> {
    Arc::new(Shell::load(web_dir).unwrap_or_else(|e| {
        tracing::warn!("cannot read the web folder {}: {e}", web_dir.display());
        Shell::default()
    }))
}

/// The web folder as static files, with the shell's page and service worker rendered
/// (src/http/shell.rs); `missing` answers for paths that are not there.
pub fn static_files(web_dir: &Path, shell: Arc<Shell>, missing: axum::routing::MethodRouter) -> Router {
    let version: Arc<str> = Arc::from(shell.version.as_str());
    let files = Router::new()
        .fallback_service(ServeDir::new(web_dir).fallback(missing))
        .layer(middleware::from_fn_with_state(version, cache_rules));
    if shell.index.is_empty() {
        return files;
    }
    let (page, worker) = (shell.clone(), shell);
    let index = get(move || async move { rendered(&page.index, "text/html; charset=utf-8") });
    Router::new()
        .route("/", index.clone())
        .route("/index.html", index)
        .route("/sw.js", get(move || async move { rendered(&worker.worker, "text/javascript; charset=utf-8") }))
        .merge(files)
}

#[cfg(test)]
mod tests {
    use super::cache_rule;

    #[test]
    fn versioned_files_of_this_version_are_kept_a_year_and_others_revalidated() {
        assert_eq!(cache_rule("/v/ab12/js/app.js", "ab12"), "public, max-age=31536000, immutable");
        assert_eq!(cache_rule("/v/0ld0/js/app.js", "ab12"), "no-cache", "an old version's URL holds today's file");
        assert_eq!(cache_rule("/node_modules/leaflet/dist/leaflet.js", "ab12"), "public, max-age=86400");
        assert_eq!(cache_rule("/js/app.js", "ab12"), "no-cache");
        assert_eq!(cache_rule("/v/ab12/js/app.js", ""), "no-cache", "no shell, no version to trust");
    }
}
