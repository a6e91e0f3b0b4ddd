//! What every operation of the OpenAPI description has in common, added once here rather than in
//! each annotation: the answers that come from the shared extractors (the caller's identity, path
//! ids, the query string, the body) and the grammar of query parameters that mean the same thing
//! wherever they appear. The description then names every status an operation can answer and every
//! constraint the service enforces (`scripts/api-conformance.sh` holds it to that).

use serde_json::{Map, Value, json};

use crate::domain::audit::SecurityEventKind;
use crate::domain::task::Status;

/// Operations that read no caller identity (no `Principal`), so a bad token or a pending password
/// change cannot refuse them.
const ANONYMOUS: &[&str] = &[
    "/api/health",
    "/api/health/live",
    "/api/health/ready",
    "/api/config",
    "/api/townships",
    "/api/categories",
    "/api/departments",
    "/tiles/tasks.json",
];

/// Operations that answer without the database, so never 503.
const WITHOUT_DATABASE: &[&str] = &["/api/health/live", "/api/config"];

/// The task families (migrations/0001_ledger.sql); no endpoint adds one.
const CATEGORIES: &[&str] = &["watershed", "chemical", "energy", "village"];

/// The description with the shared answers and parameter grammar added to every operation.
pub fn complete(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut value = serde_json::to_value(&doc).expect("the description is JSON");
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for op in item.values_mut().filter_map(Value::as_object_mut) {
                complete_operation(path, op);
            }
        }
    }
    serde_json::from_value(value).expect("the completed description is still an OpenAPI document")
}

fn complete_operation(path: &str, op: &mut Map<String, Value>) {
    let params: Vec<Value> = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let has = |place: &str| params.iter().any(|p| p["in"] == place);
    let mut add: Vec<(&str, &str)> = Vec::new();
    if has("path") {
        add.push(("400", "A malformed id or path segment"));
        add.push(("404", "No such resource, or not one the caller may see"));
    }
    if has("query") {
        add.push(("400", "An unknown or repeated query parameter, or a bad value (`errors` names each)"));
    }
    if op.contains_key("requestBody") {
        add.push(("400", "Malformed body"));
        add.push(("413", "Body too large"));
        add.push(("415", "Not the content type this operation takes"));
        add.push(("422", "Invalid content: each error points at the field"));
    }
    if !ANONYMOUS.contains(&path) {
        add.push(("401", "An API token or session that is not (or no longer) valid, or none where one is needed"));
        add.push(("403", "Not allowed for this account, or it must change its password first"));
    }
    if !WITHOUT_DATABASE.contains(&path) {
        add.push(("503", "The database is unavailable"));
    }
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    for (status, description) in add {
        responses.entry(status).or_insert_with(|| problem(description));
    }
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        params.iter_mut().filter(|p| p["in"] == "query").for_each(constrain_query);
        params.iter_mut().filter(|p| p["in"] == "header").for_each(constrain_header);
    }
    if params.iter().any(|p| p["in"] == "query" && p["name"] == "f") {
        offer_html(op);
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// The grammar of a query parameter by its name, where the name means one thing everywhere.
fn constrain_query(param: &mut Value) {
    let name = param["name"].as_str().unwrap_or_default();
    let rule = match name {
        "status" => json!({"pattern": list_pattern(&Status::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>(), true)}),
        "category" => json!({"pattern": list_pattern(CATEGORIES, true)}),
        "properties" => json!({"pattern": list_pattern(crate::domain::filter::TASK_PROPERTIES, true)}),
        "sortby" => json!({"pattern": sort_pattern(crate::domain::filter::SORTABLE)}),
        "kind" if param["description"].as_str().is_some_and(|d| d.contains("comma list")) => {
            let kinds: Vec<&str> = SecurityEventKind::ALL.iter().map(|k| k.as_str()).collect();
            json!({"pattern": list_pattern(&kinds, false)})
        }
        "from" | "to" => json!({"format": "date", "pattern": r"^\s*(19[5-9]\d|20\d\d|21[0-4]\d|2150)-\d\d-\d\d\s*$"}),
        "since" | "until" => json!({"format": "date-time"}),
        "coords" => json!({"pattern": r"^\s*([Ww][Gg][Ss]84|[Gg][Cc][Jj]02|[Bb][Dd]09)?\s*$"}),
        "f" => json!({"enum": ["json", "geojson", "application/json", "application/geo+json", "html", "text/html"]}),
        "mode" => json!({"enum": ["all", "partial"]}),
        "size" => json!({"enum": ["thumb", "phone"]}),
        // GDAL's OGC API driver sends a filter down only to a server whose description lists the
        // draft's name, cql-text, among these.
        "filter-lang" => json!({"enum": ["cql2-text", "cql2-json", "cql-text"]}),
        "state" => json!({"enum": ["pending", "sent", "failed"]}),
        // An assessment's version: the draft, or a frozen one by number.
        "version" => json!({"pattern": r"^\s*(draft|[1-9][0-9]{0,8})\s*$"}),
        // Every query is read as text that can be stored, which never holds U+0000
        // (domain::text::query_pairs refuses it whatever the parameter).
        _ if param
            .pointer("/schema/type")
            .is_some_and(|t| t == "string" || t.as_array().is_some_and(|a| a.contains(&json!("string")))) =>
        {
            json!({"pattern": r"^[^\x00]*$"})
        }
        _ => return,
    };
    let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut) else { return };
    if let Some(rule) = rule.as_object() {
        schema.extend(rule.clone());
    }
}

/// The grammar of the request headers the service reads itself (HTTP drops the blanks around a
/// header's value, so none are described).
fn constrain_header(param: &mut Value) {
    let rule = match param["name"].as_str().unwrap_or_default() {
        "If-Match" => json!({"pattern": r#"^"v\d{1,9}"$"#}),
        "Idempotency-Key" => json!({"pattern": r"^[!-~]([ -~]*[!-~])?$", "maxLength": 200}),
        _ => return,
    };
    if let (Some(schema), Some(rule)) = (param.get_mut("schema").and_then(Value::as_object_mut), rule.as_object()) {
        schema.extend(rule.clone());
    }
}

/// An operation with `f` answers HTML for `f=html` as well as JSON.
fn offer_html(op: &mut Map<String, Value>) {
    let content = op.get_mut("responses").and_then(|r| r.pointer_mut("/200/content"));
    if let Some(content) = content.and_then(Value::as_object_mut) {
        content.entry("text/html").or_insert_with(|| json!({"schema": {"type": "string"}}));
    }
}

/// A comma list of these names, each ascending (any leading `+`, a space once decoded) or
/// descending (one leading `-`), as `domain::filter::sort_keys` reads it.
fn sort_pattern(names: &[&str]) -> String {
    let name = format!("({})", names.join("|"));
    let item = format!(r"\s*(-\s*{name}|\+*\s*{name})\s*");
    format!(r"^[\s,]*({item}(,[\s,]*{item})*)?[\s,]*$")
}

/// A comma list of these names, spaces and empty items allowed as the service reads it
/// (`domain::filter::list`); `allow_empty`: whether a list of no names is accepted.
fn list_pattern(names: &[&str], allow_empty: bool) -> String {
    let item = format!("({})", names.join("|"));
    let list = format!(r"{item}(\s*,[\s,]*{item})*");
    if allow_empty { format!(r"^[\s,]*({list})?[\s,]*$") } else { format!(r"^[\s,]*{list}[\s,]*$") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_documents_the_shared_answers() {
        let (_, doc) = super::super::api();
        let value = serde_json::to_value(&doc).unwrap();
        let tasks = &value["paths"]["/api/tasks/{id}"]["patch"]["responses"];
        for status in ["400", "401", "403", "404", "413", "415", "422", "503"] {
            assert!(tasks.get(status).is_some(), "PATCH /api/tasks/{{id}} lacks {status}");
        }
        let live = &value["paths"]["/api/health/live"]["get"]["responses"];
        assert!(live.get("401").is_none() && live.get("503").is_none());
    }
}
