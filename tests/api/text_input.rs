//! Text no database can hold (U+0000, bytes that are not UTF-8) is refused wherever it comes in,
//! with a pointer to where it is, and nothing is stored: never a 500.

use crate::helpers::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// Checks a refusal: status, problem+json, and an error at `pointer`.
async fn refused_at(res: reqwest::Response, status: StatusCode, pointer: &str) -> Value {
    let p = problem(res, status).await;
    assert!(pointers(&p).iter().any(|x| x == pointer), "expected an error at {pointer}: {p}");
    p
}

#[tokio::test]
async fn nul_in_any_task_field_is_422_at_that_field_for_create_patch_and_import() {
    let app = spawn_app().await;
    let with = |props: Value| task_at(point(119.95, 30.8), props);
    for (field, pointer) in [
        ("title", "/properties/title"),
        ("description", "/properties/description"),
        ("lead_unit", "/properties/lead_unit"),
        ("contact_person", "/properties/contact_person"),
        ("target_unit", "/properties/target_unit"),
    ] {
        let mut props = json!({field: "清淤\u{0}工程", "target_quantity": 3});
        if field != "target_unit" {
            props["target_unit"] = json!("km");
        }
        let p = refused_at(app.post("/api/tasks", &with(props)).await, StatusCode::UNPROCESSABLE_ENTITY, pointer).await;
        assert!(p.to_string().contains("U+0000"), "{p}");
    }
    // A NUL in a member name, or in a value read as a code, is refused as well.
    refused_at(
        app.post("/api/tasks", &with(json!({"note\u{0}": "x"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/properties/note\u{0}",
    )
    .await;
    refused_at(
        app.post("/api/tasks", &with(json!({"category": "energy\u{0}"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/properties/category",
    )
    .await;
    refused_at(
        app.post("/ogc/collections/tasks/items", &with(json!({"title": "\u{0}"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/properties/title",
    )
    .await;
    let import = json!({"type": "FeatureCollection", "features": [with(json!({})), with(json!({"title": "a\u{0}"}))]});
    refused_at(
        app.post("/api/import", &import).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/features/1/properties/title",
    )
    .await;
    assert_eq!(app.task_count().await, 0, "nothing stored");

    let (id, etag, _) = app.create(&with(json!({"title": "青溪河清淤"}))).await;
    let res = app.patch(&format!("/api/tasks/{id}"), &etag, &json!({"properties": {"title": "改\u{0}"}})).await;
    refused_at(res, StatusCode::UNPROCESSABLE_ENTITY, "/properties/title").await;
    let stored: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(stored["properties"]["title"], "青溪河清淤");
    assert_eq!(stored["properties"]["version"], 1);
}

#[tokio::test]
async fn stray_control_characters_in_text_fields_are_422_but_line_breaks_are_kept() {
    let app = spawn_app().await;
    let res = app.post("/api/tasks", &task_at(point(119.95, 30.8), json!({"title": "bell\u{7}"}))).await;
    let p = refused_at(res, StatusCode::UNPROCESSABLE_ENTITY, "/properties/title").await;
    assert!(p.to_string().contains("U+0007"), "{p}");
    let (_, _, task) =
        app.create(&task_at(point(119.95, 30.8), json!({"description": "第一段\n第二段\t(2026)"}))).await;
    assert_eq!(task["properties"]["description"], "第一段\n第二段\t(2026)");
}

#[tokio::test]
async fn nul_or_broken_utf8_in_a_query_is_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (path, param) in [
        ("/api/tasks?q=%E9%9D%92%00", "q"),
        ("/api/tasks?q=%FF%FE", "q"),
        ("/api/tasks?category=energy%00", "category"),
        ("/api/tasks?township=%C3", "township"),
        ("/api/rollups/townships?category=%00", "category"),
        ("/api/rollups/monthly?township=%ED%A0%80", "township"),
        ("/ogc/collections/tasks/items?title=%00", "title"),
        ("/api/export/tasks.csv?q=%80", "q"),
    ] {
        let p = refused_at(app.get(path).await, StatusCode::BAD_REQUEST, param).await;
        assert!(p["detail"].as_str().unwrap().contains(param), "{path}: {p}");
    }
    // Creates read their query the same way.
    let res = app.post("/api/tasks?coords=%00", &task_at(point(119.95, 30.8), json!({}))).await;
    refused_at(res, StatusCode::BAD_REQUEST, "coords").await;
    // Well-formed text still searches.
    let ok = app.get("/api/tasks?q=%E9%9D%92%E6%BA%AA").await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_token_account_township_and_workflow_text_refuse_nul() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/session"))
        .json(&json!({"username": "bureau\u{0}", "password": "x"}))
        .send()
        .await;
    refused_at(res.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "/username").await;

    refused_at(
        app.post("/api/me/tokens", &json!({"name": "QGIS\u{0}"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/name",
    )
    .await;

    let admin = app.login("admin").await;
    let account =
        json!({"username": "zhang", "display_name": "张\u{0}", "role": "bureau", "password": "long enough pw"});
    refused_at(admin.post("/api/users", &account).await, StatusCode::UNPROCESSABLE_ENTITY, "/display_name").await;
    let township = json!({"type": "Feature", "properties": {"name": "新区\u{0}", "kind": "town"},
        "geometry": {"type": "Polygon", "coordinates": [[[120.0, SOUTH], [120.1, SOUTH], [120.1, NORTH], [120.0, NORTH], [120.0, SOUTH]]]}});
    let res = admin.send_json(Method::PUT, &format!("/api/townships/{EAST}"), None, &township).await;
    refused_at(res, StatusCode::UNPROCESSABLE_ENTITY, "/properties/name").await;

    let (id, _, _) = app.create(&task_at(point(119.95, 30.8), json!({}))).await;
    let etag = app.etag(&id).await;
    let res = app
        .post_if_match(
            &format!("/api/tasks/{id}/transitions"),
            &etag,
            &json!({"action": "cancel", "reason": "重复\u{0}"}),
        )
        .await;
    refused_at(res, StatusCode::UNPROCESSABLE_ENTITY, "/reason").await;

    let own = app.login(&format!("township-{MIDDLE}")).await;
    let res = own.report(&id, &etag, &new_key(), &[("note", "巡查\u{0}")], &[]).await;
    refused_at(res, StatusCode::UNPROCESSABLE_ENTITY, "/note").await;
    // A multipart text field whose bytes are not UTF-8.
    let form =
        reqwest::multipart::Form::new().part("note", reqwest::multipart::Part::bytes(vec![0xE9, 0x9D, 0x20, 0xFF]));
    let res = own
        .request(Method::POST, &format!("/api/tasks/{id}/reports"))
        .header(header::IF_MATCH, &etag)
        .header("idempotency-key", new_key())
        .multipart(form)
        .send()
        .await
        .unwrap();
    refused_at(res, StatusCode::UNPROCESSABLE_ENTITY, "/note").await;
    assert_eq!(app.etag(&id).await, etag, "the task is untouched");
    let reports: i64 = sqlx::query_scalar("SELECT count(*) FROM reports").fetch_one(&app.db).await.unwrap();
    assert_eq!(reports, 0);
}

#[tokio::test]
async fn a_lone_surrogate_never_reaches_the_database() {
    let app = spawn_app().await;
    // serde_json refuses an unpaired surrogate escape: the body is not JSON text.
    let body = r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.95, 30.8]},
                   "properties": {"title": "\ud800", "category": "energy"}}"#;
    let res = app
        .request(Method::POST, "/api/tasks")
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(body)
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(p["type"], "/problems/malformed-json", "{p}");
    assert_eq!(app.task_count().await, 0);
}
