//! PostGIS assigns each task to the township holding it (most of it, for lines and areas), at
//! every save; the bureau can override, and the override survives geometry edits.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn township_of(app: &TestApp, geometry: Value) -> String {
    let (_, _, body) = app.create(&task_at(geometry, json!({}))).await;
    body["properties"]["township"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_point_goes_to_the_township_containing_it() {
    let app = spawn_app().await;
    assert_eq!(township_of(&app, point(119.85, 30.8)).await, WEST);
    assert_eq!(township_of(&app, point(119.95, 30.8)).await, MIDDLE);
    assert_eq!(township_of(&app, point(120.05, 30.8)).await, EAST);
}

#[tokio::test]
async fn a_point_on_a_shared_border_goes_to_the_lower_code_every_time() {
    let app = spawn_app().await;
    assert_eq!(township_of(&app, point(119.9, 30.8)).await, WEST);
    assert_eq!(township_of(&app, point(119.9, 30.8)).await, WEST);
}

#[tokio::test]
async fn a_line_goes_to_the_township_holding_most_of_its_length() {
    let app = spawn_app().await;
    // 0.03° in WEST, 0.07° in MIDDLE.
    let line = json!({"type": "LineString", "coordinates": [[119.87, 30.8], [119.97, 30.8]]});
    assert_eq!(township_of(&app, line).await, MIDDLE);
    // Longer in WEST though it has more vertices in MIDDLE: length decides, not vertex count.
    let line = json!({"type": "LineString", "coordinates": [[119.82, 30.8], [119.91, 30.8], [119.912, 30.8], [119.914, 30.8]]});
    assert_eq!(township_of(&app, line).await, WEST);
    // Crossing all three: 0.01° in WEST, 0.1° in MIDDLE, then 0.01° east and 0.19° north in EAST.
    let line = json!({"type": "LineString", "coordinates": [[119.89, 30.71], [120.01, 30.71], [120.01, 30.9]]});
    assert_eq!(township_of(&app, line).await, EAST);
}

#[tokio::test]
async fn an_area_goes_to_the_township_holding_most_of_it() {
    let app = spawn_app().await;
    // 0.04° of its width in MIDDLE, 0.02° in EAST.
    let area = json!({"type": "Polygon", "coordinates": [[[119.96, 30.8], [120.02, 30.8], [120.02, 30.85], [119.96, 30.85], [119.96, 30.8]]]});
    assert_eq!(township_of(&app, area).await, MIDDLE);
    let area = json!({"type": "Polygon", "coordinates": [[[119.99, 30.8], [120.05, 30.8], [120.05, 30.85], [119.99, 30.85], [119.99, 30.8]]]});
    assert_eq!(township_of(&app, area).await, EAST);
}

#[tokio::test]
async fn a_bureau_override_is_kept_when_the_geometry_changes_and_can_be_undone() {
    let app = spawn_app().await;
    let (id, etag, body) = app.create(&task_at(point(119.85, 30.8), json!({"township": EAST}))).await;
    assert_eq!(body["properties"]["township"], EAST);
    assert_eq!(body["properties"]["township_overridden"], true);
    let path = format!("/api/tasks/{id}");

    let res = app.patch(&path, &etag, &json!({"geometry": point(119.95, 30.9)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["properties"]["township"], EAST, "override survives a move");
    assert_eq!(body["geometry"], point(119.95, 30.9));

    let body: Value = app.patch(&path, &etag, &json!({"properties": {"township": null}})).await.json().await.unwrap();
    assert_eq!(body["properties"]["township"], MIDDLE, "automatic assignment is back");
    assert_eq!(body["properties"]["township_overridden"], false);
}

#[tokio::test]
async fn moving_a_task_reassigns_it() {
    let app = spawn_app().await;
    let (id, etag, _) = app.create(&task_at(point(119.85, 30.8), json!({}))).await;
    let body: Value = app
        .patch(&format!("/api/tasks/{id}"), &etag, &json!({"geometry": point(120.05, 30.8)}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["properties"]["township"], EAST);
}

#[tokio::test]
async fn an_override_to_an_unknown_township_is_refused() {
    let app = spawn_app().await;
    let p = problem(
        app.post("/api/tasks", &task_at(point(119.85, 30.8), json!({"township": "123456789"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/properties/township"]);
    assert!(p["errors"][0]["detail"].as_str().unwrap().contains("unknown township '123456789'"));
    assert_eq!(app.task_count().await, 0);
}
