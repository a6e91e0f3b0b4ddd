//! Every kind of bad input gets a specific 4xx problem document and stores nothing.

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// Posts `body` and checks the refusal: status, the pointer of the first error (if given) and a
/// phrase of its message; then checks that nothing was stored.
async fn refused(app: &TestApp, body: &Value, status: StatusCode, pointer: Option<&str>, says: &str) -> Value {
    let p = problem(app.post("/api/tasks", body).await, status).await;
    if let Some(pointer) = pointer {
        assert!(pointers(&p).iter().any(|x| x == pointer), "expected an error at {pointer}: {p}");
    }
    assert!(p.to_string().contains(says), "expected '{says}' in {p}");
    assert_eq!(app.task_count().await, 0, "nothing stored after {body}");
    p
}

fn square(ring: Value) -> Value {
    json!({"type": "Polygon", "coordinates": [ring]})
}

#[tokio::test]
async fn malformed_json_is_400_with_the_position() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/tasks"))
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(r#"{"type": "Feature", "geometry": "#)
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::BAD_REQUEST).await;
    assert!(p["detail"].as_str().unwrap().contains("line 1 column"), "{p}");
    assert_eq!(app.task_count().await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_a_feature_is_422() {
    let app = spawn_app().await;
    refused(
        &app,
        &json!({"type": "Point", "coordinates": [119.9, 30.8]}),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/type"),
        "GeoJSON Feature",
    )
    .await;
    refused(&app, &json!([1, 2, 3]), StatusCode::UNPROCESSABLE_ENTITY, Some(""), "got an array").await;
    refused(
        &app,
        &json!({"type": "FeatureCollection", "features": []}),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/type"),
        "one Feature",
    )
    .await;
}

#[tokio::test]
async fn unsupported_and_empty_geometries_are_422() {
    let app = spawn_app().await;
    refused(
        &app,
        &task_at(json!({"type": "GeometryCollection", "geometries": []}), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/type"),
        "GeometryCollection is not supported",
    )
    .await;
    refused(
        &app,
        &task_at(json!({"type": "Triangle", "coordinates": []}), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/type"),
        "unsupported geometry type 'Triangle'",
    )
    .await;
    refused(
        &app,
        &task_at(json!({"type": "LineString", "coordinates": []}), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/coordinates"),
        "empty",
    )
    .await;
    refused(
        &app,
        &task_at(Value::Null, json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry"),
        "needs a geometry",
    )
    .await;
}

#[tokio::test]
async fn out_of_range_and_non_numeric_coordinates_are_422_at_their_index() {
    let app = spawn_app().await;
    let line = json!({"type": "LineString", "coordinates": [[119.9, 30.8], [119.95, 95.5]]});
    refused(
        &app,
        &task_at(line, json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/coordinates/1/1"),
        "latitude 95.5 is outside [-90, 90]",
    )
    .await;
    refused(
        &app,
        &task_at(point(190.0, 30.8), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/coordinates/0"),
        "longitude 190 is outside",
    )
    .await;
    let text = json!({"type": "Point", "coordinates": ["119.9", 30.8]});
    refused(
        &app,
        &task_at(text, json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/coordinates/0"),
        "must be a number, got a string",
    )
    .await;
}

#[tokio::test]
async fn swapped_latitude_and_longitude_are_recognised() {
    let app = spawn_app().await;
    // [30.8, 119.9] is out of range anyway; [30.8, 30.9]-style mix-ups land outside the county.
    refused(
        &app,
        &task_at(json!({"type": "Point", "coordinates": [30.8, 119.9]}), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/coordinates/1"),
        "latitude 119.9 is outside",
    )
    .await;
    // A fixture township in a place where swapped axes stay in range: lon 30.x, lat 60.x.
    sqlx::query("INSERT INTO townships (code, name, kind, boundary) VALUES ('330599999', '北镇', 'town', ST_Multi(ST_MakeEnvelope(60.0, 30.0, 61.0, 31.0, 4326)))")
        .execute(&app.db)
        .await
        .unwrap();
    refused(
        &app,
        &task_at(point(30.5, 60.5), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry"),
        "longitude and latitude swapped",
    )
    .await;
}

#[tokio::test]
async fn a_geometry_outside_every_township_is_refused() {
    let app = spawn_app().await;
    refused(
        &app,
        &task_at(point(116.4, 39.9), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry"),
        "touches no township",
    )
    .await;
}

#[tokio::test]
async fn self_intersecting_and_unclosed_polygons_are_422() {
    let app = spawn_app().await;
    let bowtie = square(json!([[119.91, 30.8], [119.93, 30.82], [119.93, 30.8], [119.91, 30.82], [119.91, 30.8]]));
    let p = refused(
        &app,
        &task_at(bowtie, json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry"),
        "self-intersection at [119.92, 30.81]",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("not valid"));
    let open = square(json!([[119.91, 30.8], [119.93, 30.8], [119.93, 30.82], [119.91, 30.82]]));
    refused(
        &app,
        &task_at(open, json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/coordinates/0"),
        "not closed",
    )
    .await;
}

#[tokio::test]
async fn more_than_ten_thousand_vertices_is_422() {
    let app = spawn_app().await;
    let coords: Vec<Value> = (0..10_001).map(|i| json!([119.91 + i as f64 * 1e-6, 30.8])).collect();
    refused(
        &app,
        &task_at(json!({"type": "LineString", "coordinates": coords}), json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/geometry/coordinates"),
        "more than 10000 positions",
    )
    .await;
}

#[tokio::test]
async fn a_crs_other_than_wgs84_is_422() {
    let app = spawn_app().await;
    let mut body = task_at(point(119.95, 30.8), json!({}));
    body["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}});
    refused(&app, &body, StatusCode::UNPROCESSABLE_ENTITY, Some("/crs"), "is not supported").await;
    body["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}});
    assert_eq!(app.post("/api/tasks", &body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_category_or_status_is_422() {
    let app = spawn_app().await;
    let p = refused(
        &app,
        &task_at(point(119.95, 30.8), json!({"category": "forestry"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/properties/category"),
        "unknown category 'forestry'",
    )
    .await;
    assert!(p.to_string().contains("watershed, chemical, energy, village"));
    refused(
        &app,
        &task_at(point(119.95, 30.8), json!({"status": "done"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/properties/status"),
        "'done' is not one of",
    )
    .await;
}

#[tokio::test]
async fn progress_outside_0_to_100_and_wrong_types_are_422() {
    let app = spawn_app().await;
    refused(
        &app,
        &task_at(point(119.95, 30.8), json!({"progress": 120})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/properties/progress"),
        "between 0 and 100, got 120",
    )
    .await;
    refused(
        &app,
        &task_at(point(119.95, 30.8), json!({"progress": -1})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/properties/progress"),
        "between 0 and 100",
    )
    .await;
    refused(
        &app,
        &task_at(point(119.95, 30.8), json!({"progress": "50%"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/properties/progress"),
        "whole number, got a string",
    )
    .await;
    refused(
        &app,
        &task_at(point(119.95, 30.8), json!({"supervised": "yes"})),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("/properties/supervised"),
        "true or false",
    )
    .await;
}

#[tokio::test]
async fn a_due_date_that_is_not_a_date_is_422() {
    let app = spawn_app().await;
    for bad in [json!("2026-02-30"), json!("30/06/2026"), json!(20260630)] {
        refused(
            &app,
            &task_at(point(119.95, 30.8), json!({"due_date": bad})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/properties/due_date"),
            "date",
        )
        .await;
    }
}

#[tokio::test]
async fn all_problems_of_one_body_are_reported_together() {
    let app = spawn_app().await;
    let body = json!({"type": "Feature", "geometry": point(119.95, 95.0),
                      "properties": {"category": "watershed", "progress": 200, "title": ""}});
    let p = refused(&app, &body, StatusCode::UNPROCESSABLE_ENTITY, None, "").await;
    let mut got = pointers(&p);
    got.sort();
    assert_eq!(got, ["/geometry/coordinates/1", "/properties/progress", "/properties/title"]);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = spawn_app().await;
    let big = "x".repeat(1024 * 1024 + 1);
    let body = task_at(point(119.95, 30.8), json!({"description": big}));
    refused(&app, &body, StatusCode::PAYLOAD_TOO_LARGE, None, "larger than 1024 KiB").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut req = app.client.post(app.url("/api/tasks")).body(task_at(point(119.95, 30.8), json!({})).to_string());
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let p = problem(req.send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        assert!(p["detail"].as_str().unwrap().contains("application/geo+json"));
    }
    assert_eq!(app.task_count().await, 0);
}

#[tokio::test]
async fn an_unknown_task_is_404_and_a_malformed_id_is_400() {
    let app = spawn_app().await;
    let p = problem(app.get("/api/tasks/6f1c6a8e-4b7d-4c1e-9a55-0d3f1e2b7c44").await, StatusCode::NOT_FOUND).await;
    assert!(p["detail"].as_str().unwrap().contains("6f1c6a8e-4b7d-4c1e-9a55-0d3f1e2b7c44"));
    let p = app
        .patch("/api/tasks/6f1c6a8e-4b7d-4c1e-9a55-0d3f1e2b7c44", "\"v1\"", &json!({"properties": {"progress": 5}}))
        .await;
    problem(p, StatusCode::NOT_FOUND).await;
    let p = problem(app.get("/api/tasks/not-a-uuid").await, StatusCode::BAD_REQUEST).await;
    assert!(p["detail"].as_str().unwrap().contains("'not-a-uuid' is not a task id"));
}

#[tokio::test]
async fn a_bad_patch_leaves_the_stored_task_as_it_was() {
    let app = spawn_app().await;
    let (id, etag, before) = app.create(&task_at(point(119.95, 30.8), json!({"progress": 20}))).await;
    let path = format!("/api/tasks/{id}");
    let bowtie = square(json!([[119.91, 30.8], [119.93, 30.82], [119.93, 30.8], [119.91, 30.82], [119.91, 30.8]]));
    for (body, status) in [
        (json!({"properties": {"progress": 101}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"properties": {"title": null}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"properties": {"status": "completed", "progress": 50}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"geometry": bowtie}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"geometry": point(116.4, 39.9)}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"properties": {"category": "forestry"}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"properties": {}}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"propertees": {"progress": 5}}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        problem(app.patch(&path, &etag, &body).await, status).await;
    }
    let after: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(after, before, "nothing about the task changed");
}
