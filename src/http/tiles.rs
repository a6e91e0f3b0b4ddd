//! /tiles: the tasks as Mapbox vector tiles for the map, and their TileJSON.

use axum::Json;
use axum::extract::{Path, State};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::cache;
use super::extract::{Reads, WROTE_COOKIE};
use crate::auth::Principal;
use crate::domain::Code;
use crate::domain::access::Viewer;
use crate::domain::tile::{DETAIL_MAX, DETAIL_ZOOM, MAX_ZOOM, TileError, TileId};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::store::tiles as store;
use crate::tile_cache::Cached;

pub const MVT: &str = "application/vnd.mapbox-vector-tile";

/// One tile of the tasks the caller may see (layer `tasks`). From zoom 15 on, and below it where a
/// tile covers at most 2,500 tasks, features are single tasks with `id`, `code`, `title`,
/// `category`, `status`, `progress`, `township`, `overdue`, `supervised`, `due_date` and
/// `visibility`; elsewhere they are clusters (`cluster` = true) per cell and family with `category`,
/// `count` and counts per status (`planned`, `in_progress`, `completed`, `verified`, `cancelled`)
/// and of `supervised` tasks.
#[utoipa::path(get, path = "/tiles/tasks/{z}/{x}/{y}", tag = "map",
    params(
        ("z" = u8, Path, description = "zoom, 0–22", maximum = 22),
        ("x" = String, Path, description = "column, 0 to 2^z − 1", pattern = r"^\d+$"),
        ("y" = String, Path, description = "row (0 to 2^z − 1) followed by .mvt, e.g. 6766.mvt", pattern = r"^\d+\.mvt$"),
    ),
    responses(
        (status = 200, description = "The tile (empty when nothing lies under it); ETag and Cache-Control set, and X-Cache: hit (from the instance's memory), miss (built and kept), bypass (built, not kept) or off", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 304, description = "If-None-Match names the current tile"),
        (status = 400, description = "Not a tile address", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Column or row off the zoom's grid (2^z tiles per side)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    Reads(db): Reads,
    principal: Principal,
    Path((z, x, y)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = TileId::parse(&z, &x, &y).map_err(|e| match e {
        TileError::Malformed(e) => {
            ApiError::bad_query(vec![FieldError::new("path", Code::Format, e).with("expected", "tile")])
        }
        TileError::OffGrid(e) => ApiError::not_found(e),
    })?;
    let viewer = principal.viewer();
    let public = viewer == Viewer::Public;
    // A caller who has just written reads from the primary and skips what is kept: the notice of
    // its own change may still be on its way.
    let wrote = crate::auth::cookie(&headers, WROTE_COOKIE).is_some();
    let kept = if wrote { None } else { state.tiles.get(id, &viewer) };
    if let Some(kept) = kept {
        return Ok(marked(cache::respond_tagged(&headers, public, MVT, kept.bytes, kept.etag), "hit"));
    }
    let started = Instant::now();
    // Where tiles are read from the primary, a kept connection spares the round trip sqlx adds on
    // each connection's way back into its pool (store/held.rs); replicas are read through their pool.
    let built = if wrote || !state.reads.has_replicas() {
        crate::store::held::read(&state.held, async |conn| store::tile(conn, id, &viewer).await).await?
    } else {
        store::tile(&db, id, &viewer).await?
    };
    let bytes = Bytes::from(built.bytes);
    let etag = cache::content_etag(&bytes);
    let kept = Cached { bytes: bytes.clone(), etag: etag.clone() };
    let from_primary = wrote || !state.reads.has_replicas();
    let stored = state.tiles.put(id, &viewer, kept, started, from_primary, built.fresh_for);
    let how = if !state.tiles.enabled() {
        "off"
    } else if stored {
        "miss"
    } else {
        "bypass"
    };
    Ok(marked(cache::respond_tagged(&headers, public, MVT, bytes, etag), how))
}

/// `X-Cache`: whether the tile came from memory (`hit`), was built and kept (`miss`), was built and
/// not kept (`bypass`: a change was under way, or the cache is not listening) or the cache is off.
fn marked(mut res: Response, how: &'static str) -> Response {
    res.headers_mut().insert("x-cache", HeaderValue::from_static(how));
    res
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TileJson {
    tilejson: &'static str,
    name: &'static str,
    #[schema(value_type = Vec<String>)]
    tiles: Vec<String>,
    minzoom: u8,
    maxzoom: u8,
    /// West, south, east, north of the county.
    bounds: Option<[f64; 4]>,
    /// Longitude, latitude, zoom.
    center: Option<[f64; 3]>,
    #[schema(value_type = Vec<Object>)]
    vector_layers: Vec<Value>,
}

/// TileJSON 3.0 for the task tiles: their URL template, zooms, the county's bounds and the
/// attributes of layer `tasks`.
#[utoipa::path(get, path = "/tiles/tasks.json", tag = "map",
    responses((status = 200, description = "TileJSON 3.0.0", body = TileJson)))]
pub async fn tilejson(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<TileJson>> {
    let bounds = store::county_bounds(&state.db).await?;
    let center = bounds.map(|[w, s, e, n]| [(w + e) / 2.0, (s + n) / 2.0, 11.0]);
    let fields = json!({
        "id": "String: task id (GET /api/tasks/{id})", "code": "String", "title": "String",
        "category": "String: family code", "status": "String", "progress": "Number: per cent",
        "township": "String: township code", "overdue": "Boolean", "supervised": "Boolean or Number (clusters: count)",
        "due_date": "String: YYYY-MM-DD", "visibility": "String",
        "cluster": "Boolean: a cluster of tasks per cell and family (low zooms)",
        "count": "Number: tasks in the cluster", "planned": "Number", "in_progress": "Number",
        "completed": "Number", "verified": "Number", "cancelled": "Number",
    });
    Ok(Json(TileJson {
        tilejson: "3.0.0",
        name: "greenledger tasks",
        tiles: vec![format!("{}/tiles/tasks/{{z}}/{{x}}/{{y}}.mvt", super::ogc::base_url(&headers))],
        minzoom: 0,
        maxzoom: MAX_ZOOM,
        bounds,
        center,
        vector_layers: vec![json!({
            "id": store::LAYER,
            "description": format!(
                "Remediation tasks; below zoom {DETAIL_ZOOM}, tiles covering more than {DETAIL_MAX} tasks hold clusters"
            ),
            "minzoom": 0, "maxzoom": MAX_ZOOM, "fields": fields,
        })],
    }))
}
