//! The OGC API's own description, OpenAPI 3.0 (the OAS30 conformance class): what GIS clients read to
//! learn the parameters and operations of /ogc. Built by hand because utoipa writes OpenAPI 3.1,
//! which the OGC class does not accept.

use serde_json::{Map, Value, json};

use super::{GEOJSON, HTML, JSON, OAS30};
use crate::domain::filter::MAX_LIMIT;

fn param(name: &str, location: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": location, "required": location == "path", "schema": schema,
           "description": description, "style": "form", "explode": false})
}

fn f() -> Value {
    param("f", "query", json!({"type": "string", "enum": ["json", "html"]}), "representation")
}

fn collection_id() -> Value {
    param("collectionId", "path", json!({"type": "string", "enum": ["tasks", "townships"]}), "collection")
}

fn problem() -> Value {
    json!({"description": "a problem (RFC 9457)", "content": {"application/problem+json": {"schema": {"type": "object"}}}})
}

/// A GET answered as JSON of `media` or as HTML.
fn get(id: &str, summary: &str, params: Vec<Value>, media: &str) -> Value {
    let mut content = Map::new();
    content.insert(media.into(), json!({"schema": {"type": "object"}}));
    content.insert(HTML.into(), json!({"schema": {"type": "string"}}));
    json!({"get": {"operationId": id, "summary": summary, "tags": ["ogc"], "parameters": params,
                   "responses": {"200": {"description": summary, "content": content}, "400": problem(), "404": problem()}}})
}

/// A Part 4 write: `ok` on success, a problem for everything else; `media` is the body it takes.
fn write(id: &str, summary: &str, params: Vec<Value>, media: Option<&str>, ok: &str) -> Value {
    let mut responses = Map::new();
    responses.insert(ok.into(), json!({"description": summary}));
    for code in ["400", "401", "403", "404", "405", "412", "415", "422", "428"] {
        responses.insert(code.into(), problem());
    }
    let mut op =
        json!({"operationId": id, "summary": summary, "tags": ["ogc"], "parameters": params, "responses": responses});
    if let Some(media) = media {
        op["requestBody"] = json!({"required": true, "content": {media: {"schema": {"type": "object"}}}});
    }
    op
}

/// /collections/{collectionId}/items: the features (GET) and a new task (POST).
fn items() -> Value {
    let array4 = json!({"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}});
    let limit = json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 500});
    let text = || json!({"type": "string"});
    let params = vec![
        collection_id(),
        param("bbox", "query", array4, "minLon,minLat,maxLon,maxLat"),
        param("datetime", "query", text(), "RFC 3339 instant or interval"),
        param("limit", "query", limit, "page size"),
        param("offset", "query", json!({"type": "integer", "minimum": 0, "default": 0}), "features to skip"),
        param("category", "query", text(), "tasks: family code(s), comma-separated"),
        param("status", "query", text(), "tasks: status(es), comma-separated"),
        param("township", "query", text(), "tasks: township code(s), comma-separated"),
        param("overdue", "query", json!({"type": "boolean"}), "tasks: overdue or not"),
        param("supervised", "query", json!({"type": "boolean"}), "tasks: under supervision or not"),
        param("q", "query", text(), "tasks: code prefix or title words"),
        param("department", "query", text(), "tasks: lead department code(s), comma-separated"),
        param("properties", "query", text(), "tasks: the properties each feature carries, comma-separated"),
        param("sortby", "query", text(), "tasks: properties to sort by, each with a leading - for descending"),
        param("filter", "query", text(), "tasks: a CQL2 filter on the queryables"),
        // `cql-text`, the draft's name, is what GDAL's driver looks for before it sends a filter down.
        param(
            "filter-lang",
            "query",
            json!({"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"]}),
            "tasks: the filter's language: cql2-text (the default), cql2-json, or cql-text (the draft's, as GDAL writes it: also ILIKE, quoted dates and times, 1/0 for true/false)",
        ),
        param("filter-crs", "query", text(), "tasks: the system of the filter's geometries"),
        param("crs", "query", text(), "the system of the answer's coordinates (Part 2)"),
        param("bbox-crs", "query", text(), "the system bbox is given in (Part 2)"),
        param("kind", "query", text(), "townships: kind(s)"),
        f(),
    ];
    let mut items = get("getFeatures", "features of a collection", params, GEOJSON);
    let create = "add a task (bureau staff; tasks collection only)";
    items["post"] = write("createFeature", create, vec![collection_id()], Some(GEOJSON), "201");
    items
}

/// /collections/{collectionId}/items/{featureId}: read, replace, update; delete refused.
fn item() -> Value {
    let feature_id = param("featureId", "path", json!({"type": "string"}), "task id or township code");
    let if_match = json!({"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string"},
                          "description": "the ETag of the version being changed"});
    let crs = param("crs", "query", json!({"type": "string"}), "the system of the answer's coordinates (Part 2)");
    let mut item = get("getFeature", "one feature", vec![collection_id(), feature_id.clone(), crs, f()], GEOJSON);
    let params = vec![collection_id(), feature_id, if_match];
    item["put"] = write("replaceFeature", "replace a task (bureau staff)", params.clone(), Some(GEOJSON), "200");
    let merge = Some("application/merge-patch+json");
    item["patch"] = write("updateFeature", "change part of a task (bureau staff)", params.clone(), merge, "200");
    let delete = "not supported: tasks are cancelled (POST /api/tasks/{id}/transitions), never deleted";
    item["delete"] = write("deleteFeature", delete, params[..2].to_vec(), None, "405");
    item
}

/// The whole description. Its server is `base` (this service as the caller reached it) followed by
/// `/ogc`, and its paths are keyed from there, as the standard's own OpenAPI fragments are:
/// clients look the operations up by those keys (GDAL's OAPIF driver finds the parameters of
/// `/collections/{collectionId}/items`, among them `filter-lang`, before it sends a filter down).
pub fn document(base: &str) -> Value {
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "greenledger OGC API - Features", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Remediation tasks and townships. Send `Authorization: Bearer <API token>` to see what your role may see."},
        "servers": [{"url": format!("{base}/ogc"), "description": "this service's OGC API"}],
        "paths": {
            "/": get("getLandingPage", "landing page", vec![f()], JSON),
            "/conformance": get("getConformance", "conformance classes", vec![f()], JSON),
            "/api": get("getApi", "this API description", vec![f()], OAS30),
            "/collections": get("getCollections", "the collections", vec![f()], JSON),
            "/collections/{collectionId}": get("describeCollection", "one collection", vec![collection_id(), f()], JSON),
            "/collections/{collectionId}/queryables": get("getQueryables", "what the features can be filtered by (JSON Schema)", vec![collection_id(), f()], "application/schema+json"),
            "/collections/{collectionId}/schema": get("getSchema", "what the features carry (JSON Schema)", vec![collection_id(), f()], "application/schema+json"),
            "/collections/{collectionId}/items": items(),
            "/collections/{collectionId}/items/{featureId}": item(),
        },
    });
    // The JSON Schemas go out as plain JSON to clients that ask for that alone (GDAL 3.6).
    for path in ["/collections/{collectionId}/queryables", "/collections/{collectionId}/schema"] {
        doc["paths"][path]["get"]["responses"]["200"]["content"][JSON] = json!({"schema": {"type": "object"}});
    }
    doc
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_has_an_id_and_writes_are_on_the_item_paths() {
        let doc = super::document("http://x");
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 9);
        for (path, ops) in paths {
            for (method, op) in ops.as_object().unwrap() {
                assert!(op["operationId"].is_string(), "{method} {path}");
            }
        }
        let item = &doc["paths"]["/collections/{collectionId}/items/{featureId}"];
        assert!(item["delete"]["responses"]["405"].is_object());
        let queryables = &doc["paths"]["/collections/{collectionId}/queryables"]["get"]["responses"]["200"]["content"];
        assert!(queryables["application/schema+json"].is_object() && queryables["application/json"].is_object());
        assert_eq!(doc["servers"][0]["url"], "http://x/ogc");
        assert_eq!(
            item["patch"]["requestBody"]["content"].as_object().unwrap().keys().next().unwrap(),
            "application/merge-patch+json"
        );
    }
}
