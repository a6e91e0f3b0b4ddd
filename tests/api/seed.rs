//! The demo loader: the shipped county and tasks load through the same rules as the API, with a
//! year of work behind them, and a second run adds nothing and overwrites nothing.

use greenledger::store::photos::PhotoStore;
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
    let first =
        greenledger::seed::load_demo(&app.db, Path::new("data"), &PhotoStore::Folder(app.data_dir.clone()), |_| {})
            .await
            .unwrap();
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

    let second =
        greenledger::seed::load_demo(&app.db, Path::new("data"), &PhotoStore::Folder(app.data_dir.clone()), |_| {})
            .await
            .unwrap();
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
    greenledger::seed::load_demo(&app.db, Path::new("data"), &PhotoStore::Folder(app.data_dir.clone()), |_| {})
        .await
        .unwrap();

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

/// The positions of the history entries that `want` picks, in order.
fn positions(history: &[Value], want: impl Fn(&Value) -> bool) -> Vec<usize> {
    history.iter().enumerate().filter(|(_, e)| want(e)).map(|(i, _)| i).collect()
}

fn action(a: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["action"] == a
}

#[tokio::test]
async fn the_demo_is_a_year_of_work_with_every_step_in_the_history_and_photos_the_service_serves() {
    let app = spawn_app().await;
    fresh_county(&app).await;
    let report =
        greenledger::seed::load_demo(&app.db, Path::new("data"), &PhotoStore::Folder(app.data_dir.clone()), |_| {})
            .await
            .unwrap();
    assert!(report.reports_added > report.tasks_added, "{report:?}");
    assert!(report.photos_added > 50, "{report:?}");

    // Every verified task was created, started, completed and verified, in that order, by the
    // bureau and its township as the rules have it; some were sent back and answered first.
    let verified: Value = app.get("/api/tasks?status=verified&limit=1000").await.json().await.unwrap();
    let verified = verified["features"].as_array().unwrap();
    assert!(verified.len() >= 50, "{}", verified.len());
    let mut returned_then_verified = 0;
    for task in verified {
        let (id, township) = (task["id"].as_str().unwrap(), task["properties"]["township"].as_str().unwrap());
        let history: Vec<Value> = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
        let times: Vec<&str> = history.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{id}: times in order: {times:?}");
        assert_eq!(positions(&history, |e| e["kind"] == "created"), [0], "{id}");
        let (start, complete, verify) = (
            positions(&history, action("start")),
            positions(&history, action("complete")),
            positions(&history, action("verify")),
        );
        assert_eq!((start.len(), verify.len()), (1, 1), "{id}: {history:?}");
        assert!(start[0] < complete[0] && *complete.last().unwrap() < verify[0], "{id}: {history:?}");
        assert_eq!(history[start[0]]["actor"], format!("township-{township}"));
        assert_eq!(history[verify[0]]["actor"], "bureau");
        let returns = positions(&history, action("return"));
        if let Some(&r) = returns.first() {
            assert_eq!(history[r]["actor"], "bureau");
            assert!(history[r]["reason"].as_str().is_some_and(|r| !r.is_empty()), "a return says why");
            assert!(
                complete.len() > returns.len() && complete.iter().any(|&c| c > r),
                "{id}: answered by a new completion"
            );
            returned_then_verified += 1;
        }
        // Progress rises from the start to the completion, as the reports tell it.
        let reported: Vec<i64> = history.iter().filter_map(|e| e["changes"]["progress"]["after"].as_i64()).collect();
        assert_eq!(reported.last(), Some(&100), "{id}");
    }
    assert!(returned_then_verified >= 1, "some verified tasks were returned and answered first");

    // Verified month after month: the county's monthly series is a curve, not one month's spike.
    let monthly: Value = app.get("/api/rollups/monthly").await.json().await.unwrap();
    let months: Vec<i64> =
        monthly["months"].as_array().unwrap().iter().map(|m| m["verified"].as_i64().unwrap()).collect();
    let total: i64 = months.iter().sum();
    assert!(months.iter().filter(|&&n| n > 0).count() >= 9, "verified in at least 9 months: {monthly}");
    assert!(months.iter().all(|&n| n * 4 < total), "no month holds a quarter of the verifications: {monthly}");
    // Created over the past year, not on the day of loading.
    let created: Vec<String> = sqlx::query_scalar("SELECT DISTINCT to_char(created_at, 'YYYY-MM') FROM tasks")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(created.len() >= 10, "{created:?}");

    // Completions waiting for the bureau carry their photos; the reports list them, and the
    // service serves each as a JPEG whose EXIF says where and when it was taken.
    let queue: Value = app.get("/api/review").await.json().await.unwrap();
    let waiting = queue["awaiting_verification"].as_array().unwrap();
    assert!(
        !waiting.is_empty()
            && waiting.iter().filter(|i| !i["photos"].as_array().unwrap().is_empty()).count() * 2 > waiting.len(),
        "{queue}"
    );
    assert!(!queue["return_answers"].as_array().unwrap().is_empty(), "answers to returns wait to be read: {queue}");
    let id =
        waiting.iter().find(|i| !i["photos"].as_array().unwrap().is_empty()).unwrap()["task"]["id"].as_str().unwrap();
    let reports: Vec<Value> = app.get(&format!("/api/tasks/{id}/reports")).await.json().await.unwrap();
    let photos: Vec<&str> =
        reports.iter().flat_map(|r| r["photos"].as_array().unwrap()).map(|p| p["url"].as_str().unwrap()).collect();
    assert!(!photos.is_empty(), "{reports:?}");
    for url in photos {
        let res = app.get(url).await;
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let bytes = res.bytes().await.unwrap();
        assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
        assert!(bytes.windows(6).any(|w| w == b"Exif\0\0"), "{url} carries EXIF");
    }
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
