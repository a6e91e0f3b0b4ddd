//! /ogc: OGC API - Features, Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0), so GIS clients (QGIS,
//! GDAL's OAPIF driver, ArcGIS) read the ledger directly. Two collections: `tasks` (as the caller may
//! see them, like /api/tasks) and `townships`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::AppState;
use super::cache;
use super::extract::{QueryPairs, etag};
use super::tasks::GEOJSON;
use crate::auth::Principal;
use crate::domain::access::Viewer;
use crate::domain::filter::{self, BBox, MAX_LIMIT, TaskFilter};
use crate::domain::ogc::{Format, ItemsQuery, negotiate};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::store;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const OAS30: &str = "application/vnd.oai.openapi+json;version=3.0";
const JSON: &str = "application/json";
const HTML: &str = "text/html";
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    // Tasks only, for bureau staff. DELETE is answered 405 by design (tasks are cancelled, never
    // deleted); clients learn it from the Allow header and from the API description.
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
];
const COLLECTIONS: &[(&str, &str, &str)] = &[
    (
        "tasks",
        "Remediation tasks",
        "The bureau's remediation tasks (台账) as the caller may see them: anonymous callers get public tasks and public \
         fields only. Filters: bbox, datetime (the task's lifespan, from creation until finished or cancelled), \
         category, status, township, overdue, supervised, q; limit (at most 10,000) and offset. Bureau staff may \
         create, replace and update tasks here (Part 4), with the item's ETag as If-Match.",
    ),
    ("townships", "Townships", "The county's townships (乡镇/街道/开发区). Filters: bbox, kind; limit and offset."),
];

/// `scheme://host` of this service as the caller reached it (behind a proxy: its X-Forwarded-*
/// headers), for the absolute links OGC clients follow.
pub fn base_url(headers: &HeaderMap) -> String {
    let get =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or(v).trim());
    let proto = get("x-forwarded-proto").filter(|p| *p == "https" || *p == "http").unwrap_or("http");
    let host = get("x-forwarded-host").or_else(|| get("host")).unwrap_or("localhost");
    format!("{proto}://{host}")
}

fn link(href: String, rel: &str, media_type: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": media_type, "title": title})
}

/// The representation asked for by `f` or Accept.
fn format(query: &[(String, String)], headers: &HeaderMap) -> Result<Format> {
    let f = query.iter().find(|(k, _)| k == "f").map(|(_, v)| v.as_str());
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    negotiate(f, accept).map_err(|e| ApiError::bad_query(vec![e]))
}

/// Only `f` is accepted on the metadata resources; anything else is a mistake worth naming.
fn only_f(query: &[(String, String)]) -> Result<()> {
    let errors: Vec<FieldError> = query
        .iter()
        .filter(|(k, _)| k != "f")
        .map(|(k, _)| {
            FieldError::new(k.clone(), format!("unknown parameter '{k}'; this resource takes only f=json|html"))
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(ApiError::bad_query(errors)) }
}

/// The document as JSON (of `json_type`) or as an HTML page, with ETag and caching headers.
fn answer(
    headers: &HeaderMap,
    viewer: &Viewer,
    format: Format,
    json_type: &'static str,
    title: &str,
    doc: &Value,
) -> Response {
    let public = *viewer == Viewer::Public;
    match format {
        Format::Json => cache::respond(headers, public, json_type, serde_json::to_vec(doc).unwrap_or_default()),
        Format::Html => {
            cache::respond(headers, public, "text/html; charset=utf-8", html::page(title, doc).into_bytes())
        }
    }
}

/// Self and alternate links of a resource at `path` (no query).
fn self_links(base: &str, path: &str, format: Format, json_type: &str) -> Vec<Value> {
    let (this, other) = match format {
        Format::Json => ((json_type, "json"), (HTML, "html")),
        Format::Html => ((HTML, "html"), (json_type, "json")),
    };
    vec![
        link(format!("{base}{path}?f={}", this.1), "self", this.0, "this document"),
        link(format!("{base}{path}?f={}", other.1), "alternate", other.0, &format!("this document as {}", other.1)),
    ]
}

/// The landing page: links to the API description, conformance and the collections.
#[utoipa::path(get, path = "/ogc", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json or html (else by Accept)")),
    responses((status = 200, description = "Landing page", content_type = "application/json")))]
pub async fn landing(headers: HeaderMap, principal: Principal, QueryPairs(q): QueryPairs) -> Result<Response> {
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let base = base_url(&headers);
    let mut links = self_links(&base, "/ogc", format, JSON);
    links.extend([
        link(format!("{base}/ogc/api"), "service-desc", OAS30, "the API description (OpenAPI 3.0)"),
        link(format!("{base}/ogc/api?f=html"), "service-doc", HTML, "the API documentation"),
        link(format!("{base}/ogc/conformance"), "conformance", JSON, "conformance classes"),
        link(format!("{base}/ogc/collections"), "data", JSON, "the collections"),
    ]);
    let doc = json!({
        "title": "greenledger",
        "description": "The environmental bureau's remediation ledger: tasks and townships as OGC API features.",
        "links": links,
    });
    Ok(answer(&headers, &principal.viewer(), format, JSON, "greenledger", &doc))
}

/// The conformance classes implemented.
#[utoipa::path(get, path = "/ogc/conformance", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "Conformance declaration", content_type = "application/json")))]
pub async fn conformance(headers: HeaderMap, principal: Principal, QueryPairs(q): QueryPairs) -> Result<Response> {
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let doc = json!({"conformsTo": CONFORMANCE});
    Ok(answer(&headers, &principal.viewer(), format, JSON, "Conformance", &doc))
}

async fn collection_doc(state: &AppState, base: &str, id: &str, title: &str, description: &str) -> Result<Value> {
    let bounds = store::tiles::county_bounds(&state.db).await?.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
    let items = format!("{base}/ogc/collections/{id}/items");
    Ok(json!({
        "id": id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [bounds], "crs": CRS84}},
        "links": [
            link(format!("{base}/ogc/collections/{id}"), "self", JSON, "this collection"),
            link(format!("{base}/ogc/collections/{id}?f=html"), "alternate", HTML, "this collection as HTML"),
            link(items.clone(), "items", GEOJSON, "the features"),
            link(format!("{items}?f=html"), "items", HTML, "the features as HTML"),
        ],
    }))
}

fn collection_meta(id: &str) -> Result<(&'static str, &'static str, &'static str)> {
    COLLECTIONS
        .iter()
        .copied()
        .find(|(c, _, _)| *c == id)
        .ok_or_else(|| ApiError::not_found(format!("there is no collection '{id}'; collections are: tasks, townships")))
}

/// The collections: tasks and townships.
#[utoipa::path(get, path = "/ogc/collections", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "Collections", content_type = "application/json")))]
pub async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let base = base_url(&headers);
    let mut list = Vec::new();
    for (id, title, description) in COLLECTIONS {
        list.push(collection_doc(&state, &base, id, title, description).await?);
    }
    let doc = json!({"links": self_links(&base, "/ogc/collections", format, JSON), "collections": list});
    Ok(answer(&headers, &principal.viewer(), format, JSON, "Collections", &doc))
}

/// One collection and its extent.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks or townships"),
           ("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "The collection", content_type = "application/json"),
              (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json")))]
pub async fn collection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (id, title, description) = collection_meta(&id)?;
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let doc = collection_doc(&state, &base_url(&headers), id, title, description).await?;
    Ok(answer(&headers, &principal.viewer(), format, JSON, title, &doc))
}

/// Features of a collection: `bbox`, `datetime`, `limit`, `offset` and property filters, with
/// `numberMatched`, `numberReturned` and `next`/`prev` links.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items", tag = "ogc",
    params(
        ("collectionId" = String, Path, description = "tasks or townships"),
        ("bbox" = Option<String>, Query, description = "minLon,minLat,maxLon,maxLat"),
        ("datetime" = Option<String>, Query, description = "instant or interval (RFC 3339, `..` for an open end): tasks alive then"),
        ("limit" = Option<i64>, Query, description = "page size, default 500, at most 10000 (larger values are lowered)"),
        ("offset" = Option<i64>, Query, description = "features to skip"),
        ("category" = Option<String>, Query, description = "tasks: family code(s)"),
        ("status" = Option<String>, Query, description = "tasks: status(es)"),
        ("township" = Option<String>, Query, description = "tasks: township code(s)"),
        ("overdue" = Option<bool>, Query, description = "tasks: overdue or not"),
        ("supervised" = Option<bool>, Query, description = "tasks: under supervision or not"),
        ("q" = Option<String>, Query, description = "tasks: code prefix or title words"),
        ("kind" = Option<String>, Query, description = "townships: town, subdistrict, development_zone"),
        ("f" = Option<String>, Query, description = "json or html"),
    ),
    responses(
        (status = 200, description = "A page of features", content_type = "application/geo+json"),
        (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (id, title, _) = collection_meta(&id)?;
    let query = ItemsQuery::parse(&q).map_err(ApiError::bad_query)?;
    let format = format(&q, &headers)?;
    let viewer = principal.viewer();
    let (features, matched, limit, offset) = match id {
        "tasks" => {
            let filter = TaskFilter::parse(&query.rest).map_err(ApiError::bad_query)?;
            store::tasks::check_filter(&state.db, &filter).await?;
            let (features, matched) =
                store::tasks::list_in_period(&state.db, &filter, query.period.as_ref(), &viewer).await?;
            let features: Vec<Value> = features.iter().map(|f| serde_json::to_value(f).unwrap_or_default()).collect();
            (features, matched, filter.limit, filter.offset)
        }
        _ => {
            let filter = TownshipQuery::parse(&query.rest).map_err(ApiError::bad_query)?;
            let (features, matched) =
                store::townships::page(&state.db, filter.bbox, filter.kinds.as_deref(), filter.limit, filter.offset)
                    .await?;
            let features: Vec<Value> = features.iter().map(|f| serde_json::to_value(f).unwrap_or_default()).collect();
            (features, matched, filter.limit, filter.offset)
        }
    };
    let base = base_url(&headers);
    let path = format!("/ogc/collections/{id}/items");
    let (this, other) = match format {
        Format::Json => ((GEOJSON, "json"), (HTML, "html")),
        Format::Html => ((HTML, "html"), (GEOJSON, "json")),
    };
    let at = |offset: i64, f: &str| format!("{base}{path}?{}&f={f}", ItemsQuery::query_at(&q, limit, offset));
    let returned = features.len() as i64;
    let mut links = vec![
        link(at(offset, this.1), "self", this.0, "this page"),
        link(at(offset, other.1), "alternate", other.0, &format!("this page as {}", other.1)),
        link(format!("{base}/ogc/collections/{id}"), "collection", JSON, title),
    ];
    if offset + returned < matched {
        links.push(link(at(offset + limit, this.1), "next", this.0, "next page"));
    }
    if offset > 0 {
        links.push(link(at((offset - limit).max(0), this.1), "prev", this.0, "previous page"));
    }
    let doc = json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        // No `timeStamp` (optional in OGC API - Features): it would change the ETag every second
        // and defeat the 304s for pages whose tasks have not changed.
        "links": links,
        "features": features,
    });
    Ok(answer(&headers, &viewer, format, GEOJSON, title, &doc))
}

/// One feature.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks or townships"),
           ("featureId" = String, Path, description = "task id (UUID) or township code"),
           ("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "The feature", content_type = "application/geo+json"),
              (status = 404, description = "No such feature", body = Problem, content_type = "application/problem+json")))]
pub async fn item(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (id, title, _) = collection_meta(&id)?;
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let viewer = principal.viewer();
    let missing = || ApiError::not_found(format!("there is no feature '{fid}' in {id}"));
    // A task's JSON carries the ETag of its version, the one its edits (Part 4) send as If-Match.
    let mut version = None;
    let feature = match id {
        "tasks" => {
            let uuid = uuid::Uuid::parse_str(&fid).map_err(|_| missing())?;
            let f = store::tasks::get(&state.db, uuid, &viewer).await?.ok_or_else(missing)?;
            version = Some(f.version());
            serde_json::to_value(&f).unwrap_or_default()
        }
        _ => {
            serde_json::to_value(store::townships::get(&state.db, &fid).await?.ok_or_else(missing)?).unwrap_or_default()
        }
    };
    let mut feature = feature;
    let base = base_url(&headers);
    let mut links = self_links(&base, &format!("/ogc/collections/{id}/items/{fid}"), format, GEOJSON);
    links.push(link(format!("{base}/ogc/collections/{id}"), "collection", JSON, title));
    if let Value::Object(m) = &mut feature {
        m.insert("links".into(), Value::Array(links));
    }
    if let (Some(version), Format::Json) = (version, format) {
        let body = serde_json::to_vec(&feature).unwrap_or_default();
        return Ok(cache::respond_tagged(&headers, viewer == Viewer::Public, GEOJSON, body, etag(version)));
    }
    Ok(answer(&headers, &viewer, format, GEOJSON, &format!("{title}: {fid}"), &feature))
}

/// The township collection's filter: bbox, kind, limit, offset.
struct TownshipQuery {
    bbox: Option<BBox>,
    kinds: Option<Vec<String>>,
    limit: i64,
    offset: i64,
}

impl TownshipQuery {
    fn parse(pairs: &[(String, String)]) -> std::result::Result<TownshipQuery, Vec<FieldError>> {
        let mut q = TownshipQuery { bbox: None, kinds: None, limit: 500, offset: 0 };
        let allowed = ["bbox", "kind", "limit", "offset"];
        let hint = "townships take bbox, kind, limit, offset, datetime, f";
        let errors = filter::each_parameter(pairs, &allowed, hint, |key, value| {
            match key {
                "bbox" => q.bbox = Some(BBox::parse(value)?),
                "kind" => q.kinds = Some(value.split(',').map(|s| s.trim().to_owned()).collect()),
                "limit" => match value.parse::<i64>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                    _ => return Err(format!("limit: '{value}' is not between 1 and {MAX_LIMIT}")),
                },
                "offset" => match value.parse::<i64>() {
                    Ok(n) if n >= 0 => q.offset = n,
                    _ => return Err(format!("offset: '{value}' is not a whole number of at least 0")),
                },
                _ => unreachable!("every allowed parameter is handled"),
            }
            Ok(())
        });
        if errors.is_empty() { Ok(q) } else { Err(errors) }
    }
}

/// The API description, OpenAPI 3.0 (the OAS30 conformance class), or as an HTML page.
#[utoipa::path(get, path = "/ogc/api", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "OpenAPI 3.0 description of /ogc", content_type = "application/vnd.oai.openapi+json;version=3.0")))]
pub async fn api(headers: HeaderMap, principal: Principal, QueryPairs(q): QueryPairs) -> Result<Response> {
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let doc = openapi30(&base_url(&headers));
    Ok(answer(&headers, &principal.viewer(), format, OAS30, "greenledger OGC API - Features", &doc))
}

fn openapi30(base: &str) -> Value {
    let param = |name: &str, location: &str, schema: Value, description: &str| {
        json!({"name": name, "in": location, "required": location == "path", "schema": schema,
               "description": description, "style": "form", "explode": false})
    };
    let f = param("f", "query", json!({"type": "string", "enum": ["json", "html"]}), "representation");
    let collection_id =
        param("collectionId", "path", json!({"type": "string", "enum": ["tasks", "townships"]}), "collection");
    let doc = |description: &str, media: &str| {
        let mut content = Map::new();
        content.insert(media.into(), json!({"schema": {"type": "object"}}));
        content.insert(HTML.into(), json!({"schema": {"type": "string"}}));
        json!({"description": description, "content": content})
    };
    let problem = json!({"description": "a problem (RFC 9457)", "content": {"application/problem+json": {"schema": {"type": "object"}}}});
    let op = |id: &str, summary: &str, params: Vec<Value>, media: &str| {
        json!({"get": {"operationId": id, "summary": summary, "tags": ["ogc"], "parameters": params,
                       "responses": {"200": doc(summary, media), "400": problem, "404": problem}}})
    };
    let items_params = vec![
        collection_id.clone(),
        param(
            "bbox",
            "query",
            json!({"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}}),
            "minLon,minLat,maxLon,maxLat",
        ),
        param("datetime", "query", json!({"type": "string"}), "RFC 3339 instant or interval"),
        param(
            "limit",
            "query",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 500}),
            "page size",
        ),
        param("offset", "query", json!({"type": "integer", "minimum": 0, "default": 0}), "features to skip"),
        param("category", "query", json!({"type": "string"}), "tasks: family code(s), comma-separated"),
        param("status", "query", json!({"type": "string"}), "tasks: status(es), comma-separated"),
        param("township", "query", json!({"type": "string"}), "tasks: township code(s), comma-separated"),
        param("overdue", "query", json!({"type": "boolean"}), "tasks: overdue or not"),
        param("supervised", "query", json!({"type": "boolean"}), "tasks: under supervision or not"),
        param("q", "query", json!({"type": "string"}), "tasks: code prefix or title words"),
        param("kind", "query", json!({"type": "string"}), "townships: kind(s)"),
        f.clone(),
    ];
    let feature_id = param("featureId", "path", json!({"type": "string"}), "task id or township code");
    let if_match = json!({"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string"},
                          "description": "the ETag of the version being changed"});
    let write = |id: &str, summary: &str, params: Vec<Value>, media: Option<&str>, ok: &str| {
        let mut responses = Map::new();
        responses.insert(ok.into(), json!({"description": summary}));
        for code in ["400", "401", "403", "404", "405", "412", "415", "422", "428"] {
            responses.insert(code.into(), problem.clone());
        }
        let mut op = json!({"operationId": id, "summary": summary, "tags": ["ogc"], "parameters": params,
                            "responses": responses});
        if let Some(media) = media {
            op["requestBody"] = json!({"required": true, "content": {media: {"schema": {"type": "object"}}}});
        }
        op
    };
    let mut items = op("getFeatures", "features of a collection", items_params, GEOJSON);
    items["post"] = write(
        "createFeature",
        "add a task (bureau staff; tasks collection only)",
        vec![collection_id.clone()],
        Some(GEOJSON),
        "201",
    );
    let mut item = op("getFeature", "one feature", vec![collection_id.clone(), feature_id.clone(), f.clone()], GEOJSON);
    let item_params = vec![collection_id.clone(), feature_id, if_match];
    item["put"] = write("replaceFeature", "replace a task (bureau staff)", item_params.clone(), Some(GEOJSON), "200");
    item["patch"] = write(
        "updateFeature",
        "change part of a task (bureau staff)",
        item_params.clone(),
        Some("application/merge-patch+json"),
        "200",
    );
    item["delete"] = write(
        "deleteFeature",
        "not supported: tasks are cancelled (POST /api/tasks/{id}/transitions), never deleted",
        item_params[..2].to_vec(),
        None,
        "405",
    );
    json!({
        "openapi": "3.0.3",
        "info": {"title": "greenledger OGC API - Features", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Remediation tasks and townships. Send `Authorization: Bearer <API token>` to see what your role may see."},
        "servers": [{"url": base}],
        "paths": {
            "/ogc": op("getLandingPage", "landing page", vec![f.clone()], JSON),
            "/ogc/conformance": op("getConformance", "conformance classes", vec![f.clone()], JSON),
            "/ogc/api": op("getApi", "this API description", vec![f.clone()], OAS30),
            "/ogc/collections": op("getCollections", "the collections", vec![f.clone()], JSON),
            "/ogc/collections/{collectionId}": op("describeCollection", "one collection", vec![collection_id.clone(), f.clone()], JSON),
            "/ogc/collections/{collectionId}/items": items,
            "/ogc/collections/{collectionId}/items/{featureId}": item,
        },
    })
}

/// Plain HTML pages for people who open the OGC API in a browser: every member of the JSON document,
/// links as links, features as a table.
mod html {
    use serde_json::Value;

    pub fn escape(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }

    pub fn page(title: &str, doc: &Value) -> String {
        let mut out = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <style>body{{font:14px sans-serif;margin:1.5em}}table{{border-collapse:collapse}}\
             td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}}</style>\
             </head><body><h1>{t}</h1>",
            t = escape(title)
        );
        if let Some(links) = doc.get("links").and_then(Value::as_array) {
            out.push_str("<h2>Links</h2><ul>");
            for l in links {
                let s = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("");
                out.push_str(&format!(
                    "<li><a href=\"{}\" type=\"{}\">{}</a> ({})</li>",
                    escape(s("href")),
                    escape(s("type")),
                    escape(if s("title").is_empty() { s("href") } else { s("title") }),
                    escape(s("rel"))
                ));
            }
            out.push_str("</ul>");
        }
        if let Some(features) = doc.get("features").and_then(Value::as_array) {
            features_table(&mut out, features);
        }
        let rest: serde_json::Map<String, Value> = doc
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| *k != "links" && *k != "features")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        out.push_str("<h2>Details</h2>");
        value(&mut out, &Value::Object(rest));
        out.push_str("</body></html>\n");
        out
    }

    fn features_table(out: &mut String, features: &[Value]) {
        let mut columns: Vec<String> = Vec::new();
        for f in features {
            if let Some(p) = f.get("properties").and_then(Value::as_object) {
                for k in p.keys() {
                    if !columns.contains(k) {
                        columns.push(k.clone());
                    }
                }
            }
        }
        out.push_str("<h2>Features</h2><table><tr><th>id</th><th>geometry</th>");
        for c in &columns {
            out.push_str(&format!("<th>{}</th>", escape(c)));
        }
        out.push_str("</tr>");
        for f in features {
            let id =
                f.get("id").map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).unwrap_or_default();
            let kind = f.pointer("/geometry/type").and_then(Value::as_str).unwrap_or("");
            out.push_str(&format!(
                "<tr><td><a href=\"items/{0}?f=html\">{0}</a></td><td>{1}</td>",
                escape(&id),
                escape(kind)
            ));
            for c in &columns {
                let v = f.pointer(&format!("/properties/{c}")).cloned().unwrap_or(Value::Null);
                out.push_str("<td>");
                scalar(out, &v);
                out.push_str("</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
    }

    fn scalar(out: &mut String, v: &Value) {
        match v {
            Value::Null => {}
            Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
                out.push_str(&format!("<a href=\"{0}\">{0}</a>", escape(s)));
            }
            Value::String(s) => out.push_str(&escape(s)),
            other => out.push_str(&escape(&other.to_string())),
        }
    }

    fn value(out: &mut String, v: &Value) {
        match v {
            Value::Object(m) => {
                out.push_str("<dl>");
                for (k, v) in m {
                    out.push_str(&format!("<dt>{}</dt><dd>", escape(k)));
                    value(out, v);
                    out.push_str("</dd>");
                }
                out.push_str("</dl>");
            }
            Value::Array(items) => {
                out.push_str("<ul>");
                for i in items {
                    out.push_str("<li>");
                    value(out, i);
                    out.push_str("</li>");
                }
                out.push_str("</ul>");
            }
            other => scalar(out, other),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn pages_escape_text_and_link_links() {
            let doc = serde_json::json!({"title": "<b>", "links": [{"href": "http://x/ogc?f=json", "rel": "self", "type": "application/json", "title": "t"}]});
            let p = super::page("a & b", &doc);
            assert!(p.contains("<title>a &amp; b</title>"));
            assert!(p.contains("&lt;b&gt;"));
            assert!(p.contains("<a href=\"http://x/ogc?f=json\""));
        }
    }
}
