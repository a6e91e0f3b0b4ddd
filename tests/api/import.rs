//! Bulk import (POST /api/import and `greenledger import`) and Chinese web-map coordinates.

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

async fn import(caller: &Caller, query: &str, body: &Value) -> reqwest::Response {
    caller
        .request(reqwest::Method::POST, &format!("/api/import{query}"))
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_import_stores_every_task_with_township_code_and_history() {
    let app = spawn_app().await;
    let features = vec![
        task_at(point(119.85, 30.8), json!({"title": "西片", "category": "energy"})),
        task_at(point(120.05, 30.8), json!({"title": "东片", "category": "energy"})),
        // Two thirds in the east strip: the east holds most of it.
        task_at(
            json!({"type": "LineString", "coordinates": [[119.98, 30.9], [120.04, 30.9]]}),
            json!({"title": "河段"}),
        ),
        task_at(point(119.95, 30.8), json!({"title": "指定乡镇", "township": EAST})),
    ];
    let res = import(&app, "", &collection(features)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 4);
    assert_eq!(report["failed"], json!([]));
    let created = report["created"].as_array().unwrap();
    assert_eq!(created.iter().map(|c| c["index"].as_u64().unwrap()).collect::<Vec<_>>(), [0, 1, 2, 3]);

    let task = |i: usize| {
        let id = created[i]["id"].as_str().unwrap().to_owned();
        let app = &app;
        async move { app.get(&format!("/api/tasks/{id}")).await.json::<Value>().await.unwrap() }
    };
    assert_eq!(task(0).await["properties"]["township"], WEST);
    assert_eq!(task(1).await["properties"]["township"], EAST);
    assert_eq!(task(2).await["properties"]["township"], EAST);
    let overridden = task(3).await;
    assert_eq!(overridden["properties"]["township"], EAST);
    assert_eq!(overridden["properties"]["township_overridden"], true);
    assert_eq!(created[0]["code"], "EN-2026-0001");
    assert_eq!(created[1]["code"], "EN-2026-0002");

    // Codes go on from the import for the next single create.
    let (_, _, next) = app.create(&task_at(point(119.85, 30.8), json!({"category": "energy"}))).await;
    assert_eq!(next["properties"]["code"], "EN-2026-0003");
    let history: Value =
        app.get(&format!("/api/tasks/{}/history", created[0]["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(history[0]["kind"], "created");
    assert_eq!(history[0]["actor"], "bureau");
    assert_eq!(history[0]["changes"]["township"], WEST);
}

#[tokio::test]
async fn one_bad_feature_stops_the_import_and_is_reported_by_index() {
    let app = spawn_app().await;
    let features = vec![
        task_at(point(119.85, 30.8), json!({})),
        task_at(point(119.85, 30.8), json!({"progress": 120})),
        task_at(point(30.8, 119.85), json!({})),
        task_at(
            json!({"type": "Polygon", "coordinates": [[[119.81, 30.71], [119.83, 30.73], [119.83, 30.71], [119.81, 30.73], [119.81, 30.71]]]}),
            json!({}),
        ),
        task_at(point(119.85, 30.8), json!({"category": "forestry"})),
        task_at(point(119.85, 30.8), json!({"township": "330599999"})),
    ];
    let body = problem(import(&app, "", &collection(features.clone())).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(app.task_count().await, 0, "all or nothing");
    let failed = body["failed"].as_array().unwrap();
    assert_eq!(failed.iter().map(|f| f["index"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(failed[0]["errors"][0]["pointer"], "/features/1/properties/progress");
    assert_eq!(failed[1]["errors"][0]["pointer"], "/features/2/geometry/coordinates/1", "swapped axes");
    assert!(failed[2]["error"].as_str().unwrap().contains("self-intersection"), "{}", failed[2]);
    assert!(failed[3]["error"].as_str().unwrap().contains("unknown category 'forestry'"));
    assert!(failed[4]["error"].as_str().unwrap().contains("unknown township"));
    assert!(pointers(&body).contains(&"/features/1/properties/progress".to_owned()));

    let res = import(&app, "?mode=partial", &collection(features)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!((report["imported"].as_u64(), report["failed"].as_array().unwrap().len()), (Some(1), 5));
    assert_eq!(app.task_count().await, 1);
}

/// More features than one batch (5,000): the batches are checked and written as they come, so a
/// bad feature in a later batch must still undo what the earlier ones wrote, codes included.
#[tokio::test]
async fn a_bad_feature_after_the_first_batch_still_stores_nothing() {
    let app = spawn_app().await;
    let many = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| task_at(point(119.81 + (i % 100) as f64 * 0.001, 30.75), json!({"category": "energy"})))
            .collect()
    };
    let mut features = many(5_001);
    features[5_000] = task_at(point(30.8, 119.85), json!({"category": "energy"}));
    let body = problem(import(&app, "", &collection(features)).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let failed = body["failed"].as_array().unwrap();
    assert_eq!(failed.iter().map(|f| f["index"].as_u64().unwrap()).collect::<Vec<_>>(), [5_000]);
    assert_eq!(app.task_count().await, 0, "all or nothing");
    let (_, _, next) = app.create(&task_at(point(119.85, 30.8), json!({"category": "energy"}))).await;
    assert_eq!(next["properties"]["code"], "EN-2026-0001", "no code was used up");

    let res = import(&app, "", &collection(many(5_002))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    let created = report["created"].as_array().unwrap();
    assert_eq!(created.len(), 5_002);
    assert!(created.iter().enumerate().all(|(i, c)| c["index"] == i), "in the document's order");
    assert_eq!(created[0]["code"], "EN-2026-0002");
    assert_eq!(created[5_001]["code"], "EN-2026-5003", "one run of codes across batches");
    assert_eq!(app.task_count().await, 5_003);
}

#[tokio::test]
async fn only_bureau_staff_import_and_bad_documents_are_refused_plainly() {
    let app = spawn_app().await;
    let body = collection(vec![task_at(point(119.85, 30.8), json!({}))]);
    problem(import(&app.anonymous(), "", &body).await, StatusCode::UNAUTHORIZED).await;
    let township = app.login(&format!("township-{WEST}")).await;
    problem(import(&township, "", &body).await, StatusCode::FORBIDDEN).await;
    let p = problem(import(&app, "", &task_at(point(119.85, 30.8), json!({}))).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert!(p["detail"].as_str().unwrap().contains("FeatureCollection"));
    let p = problem(import(&app, "?mode=maybe", &body).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&p), ["mode"]);
}

/// Tiananmen's flagpole as AMap (GCJ-02) and Baidu (BD-09) give it, and in WGS 84; the county is
/// moved under it for the test.
const GCJ02: [f64; 2] = [116.41024449916938, 39.91640428150164];
const WGS84: [f64; 2] = [116.404, 39.915];

async fn county_around_beijing(app: &TestApp) {
    sqlx::query(
        "UPDATE townships SET boundary = ST_Multi(ST_MakeEnvelope(116.3, 39.8, 116.5, 40.0, 4326)) WHERE code = $1",
    )
    .bind(WEST)
    .execute(&app.db)
    .await
    .unwrap();
}

fn metres(a: &Value, b: [f64; 2]) -> f64 {
    greenledger::domain::chinacoords::metres_between([a[0].as_f64().unwrap(), a[1].as_f64().unwrap()], b)
}

#[tokio::test]
async fn gcj02_and_bd09_positions_are_stored_as_wgs84() {
    let app = spawn_app().await;
    county_around_beijing(&app).await;
    let res = app
        .request(reqwest::Method::POST, "/api/tasks?coords=gcj02")
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(task_at(point(GCJ02[0], GCJ02[1]), json!({})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let etag = res.headers()[header::ETAG].to_str().unwrap().to_owned();
    let task: Value = res.json().await.unwrap();
    assert!(metres(&task["geometry"]["coordinates"], WGS84) < 1.0, "{}", task["geometry"]);

    let bd09 = greenledger::domain::chinacoords::gcj02_to_bd09(GCJ02);
    let id = task["id"].as_str().unwrap();
    let res = app
        .request(reqwest::Method::PATCH, &format!("/api/tasks/{id}?coords=bd09"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::IF_MATCH, etag)
        .body(json!({"geometry": point(bd09[0], bd09[1])}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let task: Value = res.json().await.unwrap();
    assert!(metres(&task["geometry"]["coordinates"], WGS84) < 1.0, "{}", task["geometry"]);

    let res = import(&app, "?coords=gcj02", &collection(vec![task_at(point(GCJ02[0], GCJ02[1]), json!({}))])).await;
    let report: Value = res.json().await.unwrap();
    let id = report["created"][0]["id"].as_str().unwrap();
    let task: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert!(metres(&task["geometry"]["coordinates"], WGS84) < 1.0);

    let p = problem(
        app.post("/api/tasks?coords=baidu", &task_at(point(116.4, 39.9), json!({}))).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(pointers(&p), ["coords"]);
}
