//! A geometry reaching beyond the county (more than the tolerance from every township) is refused,
//! naming the nearest township and the distance, unless the bureau accepts it with
//! `outside=accept`, which the task's history keeps.

use crate::helpers::*;
use greenledger::store::DbConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn line(coordinates: Value) -> Value {
    json!({"type": "LineString", "coordinates": coordinates})
}

/// The fixture county is 119.8–120.1 E; at 30.8 N a hundredth of a degree of longitude is ~956 m.
#[tokio::test]
async fn a_point_within_the_tolerance_is_kept_by_the_nearest_township_and_one_beyond_is_refused() {
    let app = spawn_app().await;
    let (_, _, near) = app.create(&task_at(point(120.11, 30.8), json!({}))).await;
    assert_eq!(near["properties"]["township"], EAST, "within 2 km: the nearest township holds it");

    let p = problem(
        app.post("/api/tasks", &task_at(point(120.2, 30.8), json!({}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/geometry/coordinates"], "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("9.6 km") && detail.contains("清源经济开发区") && detail.contains(EAST), "{detail}");
    assert!(detail.contains("outside=accept"), "says how to override: {detail}");
    assert_eq!(app.task_count().await, 1);
}

#[tokio::test]
async fn a_line_with_one_end_near_longitude_zero_is_refused_at_that_position() {
    let app = spawn_app().await;
    let far = task_at(line(json!([[119.85, 30.8], [119.86, 30.81], [0.5, 0.2]])), json!({}));
    let p = problem(app.post("/api/tasks", &far).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/geometry/coordinates/2"], "{p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("城东街道") && detail.contains(WEST), "the westmost township is nearest: {detail}");
    let km: f64 = detail.split(" km").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!((12_000.0..13_500.0).contains(&km), "{km} km from (0.5, 0.2) to 119.8 E, 30.7 N: {detail}");

    // The same through the OGC API and the import, at the feature's own pointer.
    problem(app.post("/ogc/collections/tasks/items", &far).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let import = json!({"type": "FeatureCollection", "features": [task_at(point(119.95, 30.8), json!({})), far]});
    let p = problem(app.post("/api/import", &import).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/features/1/geometry/coordinates/2"], "{p}");
    assert_eq!(app.task_count().await, 0);
}

#[tokio::test]
async fn the_bureau_may_accept_a_far_geometry_and_the_history_says_so() {
    let app = spawn_app().await;
    let far = task_at(point(120.2, 30.8), json!({}));
    let res = app.post("/api/tasks?outside=accept", &far).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let task: Value = res.json().await.unwrap();
    let id = task["id"].as_str().unwrap();
    assert_eq!(task["properties"]["township"], EAST, "the nearest township holds it");
    let history: Value = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
    let accepted = &history[0]["changes"]["outside_county"];
    assert_eq!(accepted["nearest_township"], EAST, "{history}");
    assert!((9_000.0..10_000.0).contains(&accepted["distance_m"].as_f64().unwrap()), "{accepted}");
    assert_eq!(history[0]["actor"], "bureau");

    // Moving a task far away is refused the same way, and accepted the same way.
    let (id, etag, _) = app.create(&task_at(point(119.95, 30.8), json!({}))).await;
    let moved = json!({"geometry": point(119.95, 31.2)});
    let res = app.patch(&format!("/api/tasks/{id}"), &etag, &moved).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p["detail"].as_str().unwrap().contains("青溪镇"), "north of the middle township: {p}");
    let res = app.send_json(Method::PATCH, &format!("/api/tasks/{id}?outside=accept"), Some(&etag), &moved).await;
    assert_eq!(res.status(), StatusCode::OK);
    let history: Value = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
    assert_eq!(history[1]["changes"]["outside_county"]["nearest_township"], MIDDLE, "{history}");
    // Accepting what needs no acceptance records nothing.
    let etag = app.etag(&id).await;
    let back = json!({"geometry": point(119.95, 30.9)});
    let res = app.send_json(Method::PATCH, &format!("/api/tasks/{id}?outside=accept"), Some(&etag), &back).await;
    assert_eq!(res.status(), StatusCode::OK);
    let history: Value = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
    assert!(history[2]["changes"].get("outside_county").is_none(), "{history}");

    let p = problem(app.post("/api/tasks?outside=maybe", &far).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&p), ["outside"]);
}

#[tokio::test]
async fn the_tolerance_is_the_administrators_to_set() {
    let app = spawn_app_with(|c: &mut DbConfig| c.outside_tolerance_m = 20_000.0).await;
    let (_, _, task) = app.create(&task_at(point(120.2, 30.8), json!({}))).await;
    assert_eq!(task["properties"]["township"], EAST);
    let p = problem(
        app.post("/api/tasks", &task_at(point(120.4, 30.8), json!({}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("beyond the 20.0 km"), "{p}");
}
