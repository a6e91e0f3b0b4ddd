//! The demo loader: the shipped county and tasks load through the same rules as the API, and a
//! second run adds nothing and overwrites nothing.

use std::path::Path;

use crate::helpers::*;
use serde_json::{Value, json};

async fn fresh_county(app: &TestApp) {
    // The fixture townships share codes with the demo county; start from none (and no township
    // accounts, which point at them).
    sqlx::query("DELETE FROM users WHERE role = 'township'").execute(&app.db).await.unwrap();
    sqlx::query("DELETE FROM townships").execute(&app.db).await.unwrap();
}

#[tokio::test]
async fn the_demo_county_loads_once_and_a_second_run_changes_nothing() {
    let app = spawn_app().await;
    fresh_county(&app).await;
    let first = greenledger::seed::load_demo(&app.db, Path::new("data"), |_| {}).await.unwrap();
    assert_eq!(first.townships_added, 12);
    // admin and bureau exist already (the test logged in as bureau); one account per township is new.
    assert_eq!(first.users_added, 12);
    assert!((250..=400).contains(&first.tasks_added), "{first:?}");

    // Someone edits a demo task; seeding again must keep the edit and add nothing.
    let body: Value = app.get("/api/tasks?limit=1").await.json().await.unwrap();
    let id = body["features"][0]["id"].as_str().unwrap().to_owned();
    let etag = format!("\"v{}\"", body["features"][0]["properties"]["version"]);
    let res = app.patch(&format!("/api/tasks/{id}"), &etag, &json!({"properties": {"title": "已修改的标题"}})).await;
    assert_eq!(res.status(), 200);

    let second = greenledger::seed::load_demo(&app.db, Path::new("data"), |_| {}).await.unwrap();
    assert_eq!(second.townships_added, 0);
    assert_eq!(second.users_added, 0);
    assert_eq!(second.tasks_added, 0);
    assert_eq!(second.tasks_already_present, first.tasks_added);
    assert_eq!(app.task_count().await as usize, first.tasks_added);
    let task: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(task["properties"]["title"], "已修改的标题");
}

#[tokio::test]
async fn the_demo_ledger_looks_like_a_real_campaign() {
    let app = spawn_app().await;
    fresh_county(&app).await;
    greenledger::seed::load_demo(&app.db, Path::new("data"), |_| {}).await.unwrap();

    // Every township has work, every family and status is present, some work is overdue.
    let empty: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM townships w WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.township_code = w.code)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(empty, 0);
    for (column, expected) in [
        ("category", &["chemical", "energy", "village", "watershed"][..]),
        ("status", &["cancelled", "completed", "in_progress", "planned", "verified"]),
        ("GeometryType(geom)", &["LINESTRING", "POINT", "POLYGON"]),
    ] {
        let got: Vec<String> = sqlx::query_scalar(&format!("SELECT DISTINCT {column} FROM tasks ORDER BY 1"))
            .fetch_all(&app.db)
            .await
            .unwrap();
        assert_eq!(got, expected, "{column}");
    }
    let overdue: Value = app.get("/api/tasks?overdue=true&limit=1").await.json().await.unwrap();
    assert!(overdue["numberMatched"].as_i64().unwrap() >= 10, "{}", overdue["numberMatched"]);
    // Some lines and areas straddle a border (and were given to the township holding most of them).
    let crossing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tasks t WHERE ST_Dimension(t.geom) > 0 AND
            (SELECT count(*) FROM townships w WHERE ST_Intersects(w.boundary, t.geom)
                                               AND NOT ST_Touches(w.boundary, t.geom)) > 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(crossing >= 10, "{crossing}");
}

#[tokio::test]
async fn synthetic_ledgers_keep_every_rule_of_real_ones() {
    let app = spawn_app().await;
    greenledger::synth::generate(&app.db, 3_000, 0.5, |_, _| {}).await.unwrap();
    let (n, codes, outside, bad_township): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT code),
                count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM townships w WHERE ST_Intersects(w.boundary, t.geom))),
                count(*) FILTER (WHERE GeometryType(geom) = 'POINT' AND township_code <> township_for(geom)
                                   AND NOT ST_Touches((SELECT boundary FROM townships WHERE code = township_code), geom))
         FROM tasks t",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((n, codes, outside, bad_township), (3_000, 3_000, 0, 0));
    // A task created afterwards gets a fresh code, not one of the synthetic ones.
    let (_, _, body) = app.create(&task_at(point(119.95, 30.85), json!({}))).await;
    let code = body["properties"]["code"].as_str().unwrap();
    let clash: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE code = $1").bind(code).fetch_one(&app.db).await.unwrap();
    assert_eq!(clash, 1);
}
