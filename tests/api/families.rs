//! Task families as data: an administrator adds, renames, recolours, reorders and retires them. A
//! retired family keeps its tasks (shown, filtered, exported, rolled up) but takes no new ones, by
//! any way a task is written; its code and prefix are fixed once tasks use it.

use std::process::Command;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::*;

fn ecology() -> Value {
    json!({"code": "ecology", "prefix": "eco", "name_zh": "生态修复", "name_en": "Ecological restoration",
           "color": "#2E8B57"})
}

async fn families(app: &TestApp) -> Vec<Value> {
    app.anonymous().get("/api/categories").await.json::<Vec<Value>>().await.unwrap()
}

async fn family(app: &TestApp, code: &str) -> Value {
    families(app).await.into_iter().find(|f| f["code"] == code).unwrap_or_else(|| panic!("no family {code}"))
}

async fn patch(caller: &Caller, code: &str, body: &Value) -> reqwest::Response {
    caller.send_json(Method::PATCH, &format!("/api/categories/{code}"), None, body).await
}

#[tokio::test]
async fn an_administrator_adds_renames_recolours_and_reorders_a_family() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let key = new_key();
    let add = |key: String| {
        let admin = admin.clone();
        async move {
            admin
                .request(Method::POST, "/api/categories")
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", key)
                .body(ecology().to_string())
                .send()
                .await
                .unwrap()
        }
    };
    let res = add(key.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let added: Value = res.json().await.unwrap();
    assert_eq!(
        added,
        json!({"code": "ecology", "prefix": "ECO", "name_zh": "生态修复", "name_en": "Ecological restoration",
               "color": "#2e8b57", "sort_order": 5, "retired": false, "photo_far_m": 500, "require_after_photo": true,
               "require_before_photo": false}),
        "after the four a county starts with"
    );
    let again = add(key).await;
    assert_eq!(
        (again.status(), again.headers()["idempotent-replayed"].to_str().unwrap()),
        (StatusCode::CREATED, "true")
    );
    assert_eq!(families(&app).await.len(), 5, "added once");
    // The bureau files tasks under it at once, with its prefix.
    let (_, _, task) = app.create(&task_at(point(119.95, 30.8), json!({"category": "ecology"}))).await;
    assert!(task["properties"]["code"].as_str().unwrap().starts_with("ECO-"), "{task}");

    let res = patch(&admin, "ecology", &json!({"name_zh": "生态保护修复", "color": "#1B9E77", "sort_order": 0})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list = families(&app).await;
    assert_eq!(list[0]["code"], "ecology", "first now");
    assert_eq!((list[0]["name_zh"].as_str(), list[0]["color"].as_str()), (Some("生态保护修复"), Some("#1b9e77")));
    assert_eq!(list[0]["name_en"], "Ecological restoration", "what was not sent stays");

    // Refusals: another family's code or prefix, bad fields (all named), an unknown family.
    let mut dup_prefix = ecology();
    dup_prefix["code"] = json!("waters");
    dup_prefix["prefix"] = json!("WS");
    let body = problem(admin.post("/api/categories", &dup_prefix).await, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("'WS'"), "{body}");
    let body = problem(admin.post("/api/categories", &ecology()).await, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("'ecology'"), "{body}");
    let bad = json!({"code": "Eco Two", "prefix": "E2", "name_zh": "", "name_en": "x", "color": "green"});
    let body = problem(admin.post("/api/categories", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/code", "/prefix", "/name_zh", "/color"]);
    let body = problem(patch(&admin, "mining", &json!({"color": "#000000"})).await, StatusCode::NOT_FOUND).await;
    assert!(body["detail"].as_str().unwrap().contains("mining"));
    assert_eq!(families(&app).await.len(), 5);
}

#[tokio::test]
async fn a_retired_family_keeps_its_tasks_and_takes_no_new_ones_until_opened_again() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (kept, _, kept_task) =
        app.create(&task_at(point(119.95, 30.8), json!({"category": "village", "title": "老村整治"}))).await;
    let (other, _, _) = app.create(&task_at(point(119.96, 30.8), json!({"category": "energy"}))).await;

    let res = admin.request(Method::DELETE, "/api/categories/village").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["retired"], true);
    assert_eq!(family(&app, "village").await["retired"], true, "still listed, for the legend and filters");

    // Its task: shown, filtered, exported, rolled up, and still editable.
    let listed: Value = app.anonymous().get("/api/tasks?category=village").await.json().await.unwrap();
    assert_eq!(listed["features"][0]["id"], kept.as_str());
    let csv = app.get("/api/export/tasks.csv").await.text().await.unwrap();
    assert!(csv.contains(kept_task["properties"]["code"].as_str().unwrap()), "{csv}");
    let rollup: Value = app.get("/api/rollups/townships").await.json().await.unwrap();
    assert_eq!(rollup["county"]["by_category"]["village"], 1, "{rollup}");
    let etag = app.etag(&kept).await;
    let res =
        app.patch(&format!("/api/tasks/{kept}"), &etag, &json!({"properties": {"lead_unit": "县农业农村局"}})).await;
    assert_eq!(res.status(), StatusCode::OK, "a task of a retired family can still be worked on");
    let own = app.login(&format!("township-{MIDDLE}")).await;
    let etag = own.etag(&kept).await;
    let res = own.report(&kept, &etag, &new_key(), &[("action", "start"), ("progress", "20")], &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED, "its township reports on it: {}", res.text().await.unwrap());

    // No new task in it, by any way a task is written; each refusal names the family.
    let before = app.task_count().await;
    let new = task_at(point(119.95, 30.85), json!({"category": "village"}));
    let body = problem(app.post("/api/tasks", &new).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/properties/category"]);
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("'village' is retired"), "{body}");
    let res = app.post("/ogc/collections/tasks/items", &new).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/properties/category"]);
    let res = app.post("/api/import", &json!({"type": "FeatureCollection", "features": [new.clone()]})).await;
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 0, "{report}");
    assert!(report["failed"][0]["errors"][0]["detail"].as_str().unwrap().contains("'village' is retired"), "{report}");
    let etag = app.etag(&other).await;
    let res = app.patch(&format!("/api/tasks/{other}"), &etag, &json!({"properties": {"category": "village"}})).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/properties/category"]);
    assert_eq!(app.task_count().await, before, "nothing stored");
    // A family that does not exist is still told apart, and the open ones are listed.
    let body = problem(
        app.post("/api/tasks", &task_at(point(119.95, 30.85), json!({"category": "mining"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let detail = body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("unknown category 'mining'") && !detail.contains("village"), "{detail}");

    // Opened again: new tasks are welcome.
    let res = patch(&admin, "village", &json!({"retired": false})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["retired"], false);
    app.create(&new).await;
}

#[tokio::test]
async fn code_and_prefix_are_fixed_once_tasks_use_the_family() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    assert_eq!(admin.post("/api/categories", &ecology()).await.status(), StatusCode::CREATED);
    // Unused: both may change (a typo caught in time).
    let res = patch(&admin, "ecology", &json!({"code": "eco_restore", "prefix": "ER"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, _, task) = app.create(&task_at(point(119.95, 30.8), json!({"category": "eco_restore"}))).await;
    assert!(task["properties"]["code"].as_str().unwrap().starts_with("ER-"));

    let res =
        patch(&admin, "eco_restore", &json!({"code": "ecology", "prefix": "ECO", "name_en": "Restoration"})).await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/code", "/prefix"]);
    let detail = body["errors"][1]["detail"].as_str().unwrap();
    assert!(detail.contains("1 task(s)") && detail.contains("ER-") && detail.contains("cannot change"), "{detail}");
    let f = family(&app, "eco_restore").await;
    assert_eq!(
        (f["prefix"].as_str(), f["name_en"].as_str()),
        (Some("ER"), Some("Ecological restoration")),
        "nothing changed"
    );
    // The same values as now are no change; names still change.
    let res =
        patch(&admin, "eco_restore", &json!({"code": "eco_restore", "prefix": "ER", "name_en": "Restoration"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(family(&app, "eco_restore").await["name_en"], "Restoration");
}

fn greenledger(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_command_line_adds_renames_recolours_and_retires_families() {
    let app = spawn_app().await;
    let run = |args: &[&str]| {
        let (ok, stdout, stderr) = greenledger(&app, args);
        assert!(ok, "{args:?}: {stdout}{stderr}");
        stdout
    };
    let out = run(&[
        "families",
        "add",
        "greening",
        "--prefix",
        "GR",
        "--name-zh",
        "城乡绿化",
        "--name-en",
        "Greening",
        "--color",
        "#66c2a5",
    ]);
    assert!(out.contains("added greening"), "{out}");
    run(&["families", "rename", "greening", "--name-zh", "城乡绿化提升"]);
    run(&["families", "recolour", "greening", "#a6d854"]);
    run(&["families", "reorder", "greening", "0"]);
    let out = run(&["families", "retire", "watershed"]);
    assert!(out.contains("retired"), "{out}");
    let list = run(&["families", "list"]);
    let first = list.lines().next().unwrap();
    assert!(first.starts_with("greening") && first.contains("#a6d854") && first.contains("城乡绿化提升"), "{list}");
    assert!(list.lines().any(|l| l.starts_with("watershed") && l.contains("retired")), "{list}");
    let f = family(&app, "greening").await;
    assert_eq!((f["color"].as_str(), f["sort_order"].as_i64()), (Some("#a6d854"), Some(0)));
    assert_eq!(family(&app, "watershed").await["retired"], true);

    // Refusals say what is wrong and where.
    app.create(&task_at(point(119.95, 30.8), json!({"category": "energy"}))).await;
    let (ok, _, stderr) = greenledger(&app, &["families", "rename", "energy", "--prefix", "EE"]);
    assert!(!ok);
    assert!(stderr.contains("prefix: the task code prefix of the family 'energy' cannot change"), "{stderr}");
    let (ok, _, stderr) = greenledger(&app, &["families", "recolour", "energy", "orange"]);
    assert!(!ok && stderr.contains("color: 'orange' is not a colour"), "{stderr}");
    let (ok, _, stderr) = greenledger(
        &app,
        &["families", "add", "greening", "--prefix", "GX", "--name-zh", "x", "--name-en", "x", "--color", "#000000"],
    );
    assert!(!ok && stderr.contains("already a family with the code 'greening'"), "{stderr}");
    run(&["families", "unretire", "watershed"]);
    assert_eq!(family(&app, "watershed").await["retired"], false);
}
