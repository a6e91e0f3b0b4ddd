//! /ogc: OGC API - Features, Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0), so GIS clients (QGIS,
//! GDAL's OAPIF driver, ArcGIS) read the ledger directly. Two collections: `tasks` (as the caller may
//! see them, like /api/tasks) and `townships`. This module holds the reading handlers; `write` the
//! Part 4 edits, `openapi` the API description, `html` the pages for browsers.

mod html;
mod openapi;
pub mod write;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use geojson::{Feature, FeatureCollection, feature::Id};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::AppState;
use super::cache;
use super::extract::{QueryPairs, Reads, etag};
use super::tasks::GEOJSON;
use crate::auth::Principal;
use crate::domain::access::Viewer;
use crate::domain::filter::{TaskFilter, unknown_parameter};
use crate::domain::ogc::{Format, ItemsQuery, Period, TownshipQuery, negotiate, schema_as_plain_json};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::store;

use crate::domain::ogc_crs::{CRS84, OgcCrs};
const OAS30: &str = "application/vnd.oai.openapi+json;version=3.0";
const JSON: &str = "application/json";
const HTML: &str = "text/html";
const SCHEMA_JSON: &str = "application/schema+json";
const QUERYABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";
const SCHEMA_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/schema";
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    // Part 3: queryables (a JSON Schema per collection) and CQL2 filters on them, as text or JSON.
    // The queryables are not each a query parameter (the older filters category, status, township,
    // department, overdue and supervised still are), so that class is not declared.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    // Part 2: features answered in, and bboxes given in, CRS84, EPSG:4326, EPSG:4490 or EPSG:3857.
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    // Part 5: each collection's features as a JSON Schema, with the roles of id and geometry.
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
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
        .map(|(k, _)| unknown_parameter(k, "this resource takes only f=json|html", &["f"]).at(k.clone()))
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(ApiError::bad_query(errors)) }
}

/// One feature's `crs` (Part 2), and the rest of its query.
fn item_crs(q: Vec<(String, String)>) -> Result<(OgcCrs, Vec<(String, String)>)> {
    let (crs, rest): (Vec<_>, Vec<_>) = q.into_iter().partition(|(k, _)| k == "crs");
    let Some((_, value)) = crs.last() else { return Ok((OgcCrs::Crs84, rest)) };
    let crs = OgcCrs::parse(value).map_err(|e| ApiError::bad_query(vec![e.at("crs")]))?;
    Ok((crs, rest))
}

/// Part 2's `Content-Crs`: the system the answer's coordinates are in.
fn with_crs(mut res: Response, crs: OgcCrs) -> Response {
    if let Ok(v) = header::HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        res.headers_mut().insert("content-crs", v);
    }
    res
}

/// The document as JSON (of `json_type`) or as an HTML page, with ETag and caching headers.
fn answer(
    headers: &HeaderMap,
    viewer: &Viewer,
    format: Format,
    json_type: &'static str,
    title: &str,
    doc: &impl Serialize,
) -> Response {
    let public = *viewer == Viewer::Public;
    match format {
        Format::Json => cache::respond(headers, public, json_type, serde_json::to_vec(doc).unwrap_or_default()),
        Format::Html => {
            let doc = serde_json::to_value(doc).unwrap_or_default();
            cache::respond(headers, public, "text/html; charset=utf-8", html::page(title, &doc).into_bytes())
        }
    }
}

/// A feature as the store read it (PostGIS's GeoJSON text and typed properties), in geojson's types.
///
/// /api/tasks and the exports do not go through this: they pass PostGIS's geometry text through
/// untouched (`store::tasks::TaskFeature`), because geojson's `Geometry` must be parsed into its
/// positions and its properties held as a JSON map, which for a page of 1,000 tasks costs more
/// than the rest of the answer outside the database. An OGC page is built as a document (it has an
/// HTML form too), so it pays that once here.
fn geojson_feature(id: String, geometry: &RawValue, properties: &impl Serialize) -> Result<Feature> {
    let broken = |e: serde_json::Error| {
        tracing::error!(error = %e, "a stored feature did not convert to GeoJSON");
        ApiError::internal()
    };
    let geometry: geojson::Geometry = serde_json::from_str(geometry.get()).map_err(broken)?;
    let properties = match serde_json::to_value(properties).map_err(broken)? {
        Value::Object(map) => map,
        _ => return Err(ApiError::internal()),
    };
    Ok(Feature {
        bbox: None,
        geometry: Some(geometry),
        id: Some(Id::String(id)),
        properties: Some(properties),
        foreign_members: None,
    })
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

/// The landing page at `/ogc/` as well: the API description's `/` under its server, `…/ogc`.
#[utoipa::path(get, path = "/ogc/", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json or html (else by Accept)")),
    responses((status = 200, description = "Landing page", content_type = "application/json")))]
pub async fn landing_slash(headers: HeaderMap, principal: Principal, q: QueryPairs) -> Result<Response> {
    landing(headers, principal, q).await
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
        "crs": OgcCrs::ALL.iter().map(|c| c.uri()).collect::<Vec<_>>(),
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [bounds], "crs": CRS84}},
        "links": [
            link(format!("{base}/ogc/collections/{id}"), "self", JSON, "this collection"),
            link(format!("{base}/ogc/collections/{id}?f=html"), "alternate", HTML, "this collection as HTML"),
            link(items.clone(), "items", GEOJSON, "the features"),
            link(format!("{items}?f=html"), "items", HTML, "the features as HTML"),
            link(format!("{base}/ogc/collections/{id}/queryables"), QUERYABLES_REL, SCHEMA_JSON, "what the features can be filtered by"),
            // The draft's short relation, which GDAL's OAPIF driver (3.6) follows to the queryables.
            link(format!("{base}/ogc/collections/{id}/queryables"), "queryables", JSON, "what the features can be filtered by"),
            link(format!("{base}/ogc/collections/{id}/schema"), SCHEMA_REL, SCHEMA_JSON, "what the features carry"),
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

/// What a collection's features can be filtered by (OGC API - Features Part 3), as a JSON Schema:
/// each property the items answer takes as a query parameter, the families and statuses as
/// enumerations (the families as the ledger holds them now).
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/queryables", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks or townships"),
           ("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "The queryables, a JSON Schema (as application/json to clients that ask for that alone)",
                content((Object = "application/schema+json"), (Object = "application/json"))),
              (status = 400, description = "An unknown parameter or format", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json")))]
pub async fn queryables(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    json_schema(&state, &id, &headers, &principal, &q, "queryables").await
}

/// The collection's features as a JSON Schema (Part 5): every property they carry as the caller
/// sees them (the contact fields for staff only), with its type, and the roles of the id and the
/// geometry.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/schema", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks or townships"),
           ("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "The features' schema, a JSON Schema (as application/json to clients that ask for that alone)",
                content((Object = "application/schema+json"), (Object = "application/json"))),
              (status = 400, description = "An unknown parameter or format", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json")))]
pub async fn schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    json_schema(&state, &id, &headers, &principal, &q, "schema").await
}

/// A collection's queryables or schema (`which`), as JSON or HTML.
async fn json_schema(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    principal: &Principal,
    q: &[(String, String)],
    which: &str,
) -> Result<Response> {
    let (id, title, _) = collection_meta(id)?;
    only_f(q)?;
    let format = format(q, headers)?;
    let viewer = principal.viewer();
    let properties = match (id, which) {
        ("tasks", _) => {
            let families: Vec<String> = store::categories::list(&state.db).await?.into_iter().map(|c| c.code).collect();
            if which == "schema" {
                task_schema(&families, viewer != Viewer::Public)
            } else {
                task_queryables(&families, viewer == Viewer::Staff)
            }
        }
        (_, "schema") => township_schema(),
        _ => township_queryables(),
    };
    let mut doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{}/ogc/collections/{id}/{which}", base_url(headers)),
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": false,
    });
    if which == "queryables" {
        doc["queryables"] = draft_queryables(&doc["properties"]);
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let media = if schema_as_plain_json(accept) { JSON } else { SCHEMA_JSON };
    Ok(answer(headers, &viewer, format, media, title, &doc))
}

/// What a task feature carries, as JSON Schema; `staff` adds the contact and reason fields.
fn task_schema(families: &[String], staff: bool) -> Value {
    let statuses: Vec<&str> = crate::domain::task::Status::ALL.iter().map(|(name, _)| *name).collect();
    let text = |title: &str| json!({"title": title, "type": "string"});
    let maybe = |title: &str, kind: &str| json!({"title": title, "type": [kind, "null"]});
    let when = |title: &str, format: &str| json!({"title": title, "type": ["string", "null"], "format": format});
    let mut p = json!({
        "id": {"title": "task id", "type": "string", "format": "uuid", "x-ogc-role": "id"},
        "geometry": {"title": "site", "format": "geometry-any", "x-ogc-role": "primary-geometry"},
        "code": text("task code"),
        "title": text("title"),
        "description": text("description"),
        "category": {"title": "family", "type": "string", "enum": families},
        "status": {"title": "status", "type": "string", "enum": statuses},
        "progress": {"title": "progress (%)", "type": "integer", "minimum": 0, "maximum": 100},
        "township": {"title": "township code", "type": "string"},
        "township_name": text("township"),
        "township_overridden": {"title": "township set by hand", "type": "boolean"},
        "lead_unit": text("responsible unit"),
        "lead_department": maybe("lead department code (牵头部门)", "string"),
        "lead_department_name": maybe("lead department", "string"),
        "support_departments": {"title": "supporting department codes (配合部门)", "type": "array", "items": {"type": "string"}},
        "due_date": when("deadline", "date"),
        "overdue": {"title": "past its deadline and not finished", "type": "boolean"},
        "planned_investment": maybe("planned investment (10,000 yuan)", "number"),
        "actual_investment": maybe("actual investment (10,000 yuan)", "number"),
        "target_quantity": maybe("target quantity", "number"),
        "target_unit": maybe("unit of the target", "string"),
        "visibility": {"title": "who may see it", "type": "string", "enum": ["public", "internal"]},
        "supervised": {"title": "under supervision (督办)", "type": "boolean"},
        "completed_at": when("completed", "date-time"),
        "verified_at": when("verified", "date-time"),
        "last_report_at": when("last report", "date-time"),
        "created_at": {"title": "created", "type": "string", "format": "date-time", "x-ogc-role": "primary-instant"},
        "updated_at": {"title": "last changed", "type": "string", "format": "date-time"},
        "version": {"title": "version (the ETag's number)", "type": "integer"},
    });
    if staff && let Some(map) = p.as_object_mut() {
        for (name, title) in [
            ("contact_person", "contact person"),
            ("contact_phone", "contact phone"),
            ("return_reason", "why it was returned"),
            ("cancel_reason", "why it was cancelled"),
        ] {
            map.insert(name.into(), maybe(title, "string"));
        }
    }
    p
}

/// What a township feature carries, as JSON Schema.
fn township_schema() -> Value {
    let kinds: Vec<&str> = crate::domain::township::KINDS.iter().map(|(name, _)| *name).collect();
    json!({
        "id": {"title": "township code", "type": "string", "x-ogc-role": "id"},
        "geometry": {"title": "boundary", "format": "geometry-multipolygon", "x-ogc-role": "primary-geometry"},
        "code": {"title": "township code", "type": "string"},
        "name": {"title": "name", "type": "string"},
        "kind": {"title": "kind", "type": "string", "enum": kinds},
        "area_km2": {"title": "area (km²)", "type": "number"},
    })
}

/// The queryables as the draft of Part 3 listed them (`[{"id", "type"}]`), beside the JSON Schema:
/// an extra keyword JSON Schema readers pass over, and the only form GDAL's OAPIF driver (3.6)
/// reads to learn which properties it may put in a filter it sends.
fn draft_queryables(properties: &Value) -> Value {
    let Some(properties) = properties.as_object() else { return json!([]) };
    let list = properties.iter().map(|(name, p)| {
        let kind = match (p["format"].as_str(), &p["type"]) {
            (Some("date"), _) => "date",
            (Some("date-time"), _) => "dateTime",
            (Some(f), _) if f.starts_with("geometry") => "geometry",
            (_, Value::String(t)) => t.as_str(),
            (_, Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string"),
            _ => "string",
        };
        json!({"id": name, "title": p["title"], "type": kind})
    });
    Value::Array(list.collect())
}

fn geometry_queryable() -> Value {
    json!({"title": "geometry (bbox)", "format": "geometry-any", "x-ogc-role": "primary-geometry"})
}

/// What a task filter (CQL2 `filter`) may name, each with its type: the contact fields for staff only.
fn task_queryables(families: &[String], staff: bool) -> Value {
    use crate::domain::cql2::{Kind, TASK_QUERYABLES};
    let statuses: Vec<&str> = crate::domain::task::Status::ALL.iter().map(|(name, _)| *name).collect();
    let mut out = Map::new();
    for (name, kind, private) in TASK_QUERYABLES.iter().filter(|q| staff || !q.2) {
        let _ = private;
        let schema = match (*name, kind) {
            ("geometry", _) => geometry_queryable(),
            ("category", _) => json!({"title": "family", "type": "string", "enum": families}),
            ("status", _) => json!({"title": "status", "type": "string", "enum": statuses}),
            ("township", _) => json!({"title": "township code", "type": "string", "pattern": "^[0-9]{9}([0-9]{3})?$"}),
            (_, Kind::Text) => json!({"title": name, "type": "string"}),
            (_, Kind::Number) => json!({"title": name, "type": "number"}),
            (_, Kind::Bool) => json!({"title": name, "type": "boolean"}),
            (_, Kind::Date) => json!({"title": name, "type": "string", "format": "date"}),
            (_, Kind::Timestamp) => json!({"title": name, "type": "string", "format": "date-time"}),
            (_, Kind::Geometry) => geometry_queryable(),
        };
        out.insert((*name).to_owned(), schema);
    }
    Value::Object(out)
}

fn township_queryables() -> Value {
    let kinds: Vec<&str> = crate::domain::township::KINDS.iter().map(|(name, _)| *name).collect();
    json!({
        "geometry": geometry_queryable(),
        "kind": {"title": "kind", "type": "string", "enum": kinds},
    })
}

/// Features of a collection: `bbox`, `datetime`, `limit`, `offset` and property filters, with
/// `numberMatched`, `numberReturned` and `next`/`prev` links. For tasks, `numberMatched` is left
/// out (as OGC API - Features allows) when more than 10,000 match a filter the precounted cells
/// cannot answer (`q`, `datetime`, `department`, `overdue`, `filter`, `supervised` with `status`,
/// or a department officer's view); a full page then always has a `next` link.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items", tag = "ogc",
    params(
        ("collectionId" = String, Path, description = "tasks or townships"),
        ("bbox" = Option<String>, Query, description = "minLon,minLat,maxLon,maxLat"),
        ("datetime" = Option<String>, Query, description = "instant or interval (RFC 3339, `..` for an open end): tasks alive then"),
        ("limit" = Option<i64>, Query, description = "page size, default 500, at most 10000 (larger values are lowered)", minimum = 1),
        ("offset" = Option<i64>, Query, description = "features to skip", minimum = 0, maximum = 2147483647),
        ("category" = Option<String>, Query, description = "tasks: family code(s)"),
        ("status" = Option<String>, Query, description = "tasks: status(es)"),
        ("township" = Option<String>, Query, description = "tasks: township code(s)"),
        ("department" = Option<String>, Query, description = "tasks: lead department code(s)"),
        ("overdue" = Option<bool>, Query, description = "tasks: overdue or not"),
        ("supervised" = Option<bool>, Query, description = "tasks: under supervision or not"),
        ("q" = Option<String>, Query, description = "tasks: code prefix or title words"),
        ("properties" = Option<String>, Query, description = "tasks: the properties each feature carries, comma-separated; all when absent"),
        ("sortby" = Option<String>, Query, description = "tasks: the order, properties comma-separated, each ascending or with a leading - descending (e.g. -due_date,code)"),
        ("filter" = Option<String>, Query, description = "tasks: a CQL2 filter on the queryables, e.g. status IN ('planned','in_progress') AND due_date < DATE('2026-06-30') AND S_INTERSECTS(geometry, BBOX(119.9,30.8,120,30.9))"),
        ("filter-lang" = Option<String>, Query, description = "tasks: cql2-text (the default) or cql2-json; cql-text, the draft's, as GDAL's OAPIF driver writes it (also ILIKE, quoted dates and times, 1/0 for true/false)"),
        ("filter-crs" = Option<String>, Query, description = "tasks: the system of the filter's geometries (as crs; CRS84 when absent)"),
        ("kind" = Option<String>, Query, description = "townships: town, subdistrict, development_zone"),
        ("crs" = Option<String>, Query, description = "the system of the answer's coordinates (Part 2): CRS84 (default), EPSG:4326 or EPSG:4490 (latitude first), EPSG:3857 (metres), by URI, e.g. http://www.opengis.net/def/crs/EPSG/0/4490"),
        ("bbox-crs" = Option<String>, Query, description = "the system bbox is given in, in its axis order (the same four as crs)"),
        ("f" = Option<String>, Query, description = "json or html"),
    ),
    responses(
        (status = 200, description = "A page of features; numberMatched left out past 10,000 matches of a filter the precounted cells cannot answer (q, datetime, department, overdue, filter, supervised with status, a department officer's view)", content_type = "application/geo+json"),
        (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn items(
    Reads(db): Reads,
    Path(id): Path<String>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (id, title, _) = collection_meta(&id)?;
    let query = ItemsQuery::parse(&q).map_err(ApiError::bad_query)?;
    let format = format(&q, &headers)?;
    let viewer = principal.viewer();
    let mut page = read_page(&db, id, &query.rest, query.period.as_ref(), &viewer).await?;
    // The HTML page draws on a web map, which takes longitude/latitude.
    let crs = if format == Format::Json { query.crs } else { OgcCrs::Crs84 };
    for f in &mut page.features {
        if let Some(g) = &mut f.geometry {
            crs.geometry_from_crs84(&mut g.value);
        }
    }
    let links = page_links(&base_url(&headers), id, title, &q, format, &page);
    let mut members = Map::new();
    // Omitted (as OGC API - Features allows) when more match than could be counted quickly.
    if let Some(n) = page.matched {
        members.insert("numberMatched".into(), n.into());
    }
    members.insert("numberReturned".into(), page.features.len().into());
    // No `timeStamp` (optional in OGC API - Features): it would change the ETag every second and
    // defeat the 304s for pages whose tasks have not changed.
    members.insert("links".into(), Value::Array(links));
    let doc = FeatureCollection { bbox: None, features: page.features, foreign_members: Some(members) };
    Ok(with_crs(answer(&headers, &viewer, format, GEOJSON, title, &doc), crs))
}

/// One page of a collection's features, as its filter chose them.
struct Page {
    features: Vec<Feature>,
    matched: Option<i64>,
    limit: i64,
    offset: i64,
}

async fn read_page(
    db: &crate::store::Db,
    collection: &str,
    rest: &[(String, String)],
    period: Option<&Period>,
    viewer: &Viewer,
) -> Result<Page> {
    if collection == "tasks" {
        let filter = TaskFilter::parse(rest).map_err(ApiError::bad_query)?;
        store::tasks::check_filter(db, &filter, viewer).await?;
        let (tasks, matched) = store::tasks::list_in_period(db, &filter, period, viewer).await?;
        let features = tasks.iter().map(|t| geojson_feature(t.id.to_string(), &t.geometry, &t.properties));
        let mut features: Vec<Feature> = features.collect::<Result<_>>()?;
        if let Some(keep) = &filter.properties {
            for f in &mut features {
                f.properties.get_or_insert_default().retain(|k, _| keep.iter().any(|n| n == k));
            }
        }
        return Ok(Page { features, matched, limit: filter.limit, offset: filter.offset });
    }
    let filter = TownshipQuery::parse(rest).map_err(ApiError::bad_query)?;
    let (townships, matched) =
        store::townships::page(db, filter.bbox, filter.kinds.as_deref(), filter.limit, filter.offset).await?;
    let features = townships.iter().map(|t| geojson_feature(t.id.clone(), &t.geometry, &t.properties));
    let features = features.collect::<Result<_>>()?;
    Ok(Page { features, matched: Some(matched), limit: filter.limit, offset: filter.offset })
}

/// Self, alternate and collection links of a page, and next/prev where there are more pages.
fn page_links(base: &str, id: &str, title: &str, q: &[(String, String)], format: Format, page: &Page) -> Vec<Value> {
    let (this, other) = match format {
        Format::Json => ((GEOJSON, "json"), (HTML, "html")),
        Format::Html => ((HTML, "html"), (GEOJSON, "json")),
    };
    let (limit, offset) = (page.limit, page.offset);
    let at = |offset: i64, f: &str| {
        format!("{base}/ogc/collections/{id}/items?{}&f={f}", ItemsQuery::query_at(q, limit, offset))
    };
    let mut links = vec![
        link(at(offset, this.1), "self", this.0, "this page"),
        link(at(offset, other.1), "alternate", other.0, &format!("this page as {}", other.1)),
        link(format!("{base}/ogc/collections/{id}"), "collection", JSON, title),
    ];
    if crate::domain::count::more_pages(offset, page.features.len(), limit, page.matched) {
        links.push(link(at(offset + limit, this.1), "next", this.0, "next page"));
    }
    if offset > 0 {
        links.push(link(at((offset - limit).max(0), this.1), "prev", this.0, "previous page"));
    }
    links
}

/// One feature.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "ogc",
    params(("collectionId" = String, Path, description = "tasks or townships"),
           ("featureId" = String, Path, description = "task id (UUID) or township code"),
           ("crs" = Option<String>, Query, description = "the system of the answer's coordinates, as for the items"),
           ("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "The feature", content_type = "application/geo+json"),
              (status = 404, description = "No such feature", body = Problem, content_type = "application/problem+json")))]
pub async fn item(
    Reads(db): Reads,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    principal: Principal,
    QueryPairs(q): QueryPairs,
) -> Result<Response> {
    let (id, title, _) = collection_meta(&id)?;
    let (crs, q) = item_crs(q)?;
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let crs = if format == Format::Json { crs } else { OgcCrs::Crs84 };
    let viewer = principal.viewer();
    let missing = || ApiError::not_found(format!("there is no feature '{fid}' in {id}"));
    // A task's JSON carries the ETag of its version, the one its edits (Part 4) send as If-Match.
    let (mut feature, version) = if id == "tasks" {
        let uuid = uuid::Uuid::parse_str(&fid).map_err(|_| missing())?;
        let t = store::tasks::get(&db, uuid, &viewer).await?.ok_or_else(missing)?;
        (geojson_feature(t.id.to_string(), &t.geometry, &t.properties)?, Some(t.version()))
    } else {
        let t = store::townships::get(&db, &fid).await?.ok_or_else(missing)?;
        (geojson_feature(t.id, &t.geometry, &t.properties)?, None)
    };
    let base = base_url(&headers);
    let mut links = self_links(&base, &format!("/ogc/collections/{id}/items/{fid}"), format, GEOJSON);
    links.push(link(format!("{base}/ogc/collections/{id}"), "collection", JSON, title));
    feature.foreign_members = Some(Map::from_iter([("links".to_owned(), Value::Array(links))]));
    if let Some(g) = &mut feature.geometry {
        crs.geometry_from_crs84(&mut g.value);
    }
    if let (Some(version), Format::Json) = (version, format) {
        let body = serde_json::to_vec(&feature).unwrap_or_default();
        let tagged = cache::respond_tagged(&headers, viewer == Viewer::Public, GEOJSON, body, etag(version));
        return Ok(with_crs(tagged, crs));
    }
    Ok(with_crs(answer(&headers, &viewer, format, GEOJSON, &format!("{title}: {fid}"), &feature), crs))
}

/// The API description, OpenAPI 3.0 (the OAS30 conformance class), or as an HTML page.
#[utoipa::path(get, path = "/ogc/api", tag = "ogc",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses((status = 200, description = "OpenAPI 3.0 description of /ogc", content_type = "application/vnd.oai.openapi+json;version=3.0")))]
pub async fn api(headers: HeaderMap, principal: Principal, QueryPairs(q): QueryPairs) -> Result<Response> {
    only_f(&q)?;
    let format = format(&q, &headers)?;
    let doc = openapi::document(&base_url(&headers));
    Ok(answer(&headers, &principal.viewer(), format, OAS30, "greenledger OGC API - Features", &doc))
}
