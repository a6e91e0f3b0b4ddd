//! The map's side of the service: the settings the front end reads at start, and the static files
//! of web/ (our modules, and the libraries npm put in web/node_modules) with cache rules.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use serde::Serialize;
use std::path::Path;
use tower_http::services::ServeDir;

use super::AppState;

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

/// Library files change only with web/package-lock.json, so a browser may keep them a day; our own
/// modules change with every release and are revalidated (ServeDir answers 304 on Last-Modified).
async fn cache_rules(req: Request<axum::body::Body>, next: Next) -> Response {
    let library = req.uri().path().starts_with("/node_modules/");
    let mut res = next.run(req).await;
    if res.status().is_success() && !res.headers().contains_key(header::CACHE_CONTROL) {
        let rule = if library { "public, max-age=86400" } else { "no-cache" };
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(rule));
    }
    res
}

/// The web folder as static files; `missing` answers for paths that are not there.
pub fn static_files(web_dir: &Path, missing: axum::routing::MethodRouter) -> Router {
    Router::new().fallback_service(ServeDir::new(web_dir).fallback(missing)).layer(middleware::from_fn(cache_rules))
}
