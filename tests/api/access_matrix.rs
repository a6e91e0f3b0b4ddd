//! Who may do what, endpoint by endpoint: every route of the API description against the five
//! kinds of caller. The table below is the access policy of PRODUCT.md written out; the test fails
//! if an endpoint exists that the table does not cover.

use std::collections::BTreeSet;

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The callers, in the order of the expected-status columns. "department" is an officer of a
/// department that leads none of the fixture's tasks: it may do what another township's may.
const WHO: [&str; 6] = ["anonymous", "own township", "other township", "department", "bureau", "admin"];

struct Fixture {
    public_task: String,
    internal_task: String,
    photo_url: String,
    /// A target of the campaign `fx` that the bureau may remove.
    target: i64,
    year: i32,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (public_task, _, _) = app
        .create(&task_at(
            point(119.95, 30.85),
            json!({"status": "in_progress", "progress": 30, "contact_person": "王伟", "contact_phone": "13900001111"}),
        ))
        .await;
    let (internal_task, _, _) =
        app.create(&task_at(point(119.96, 30.86), json!({"visibility": "internal", "title": "内部核查点位"}))).await;
    let own = app.login(&format!("township-{MIDDLE}")).await;
    let etag = own.etag(&public_task).await;
    let res = own.report(&public_task, &etag, &new_key(), &[("progress", "40")], &[("a.jpg", jpeg(9, 300))]).await;
    let report: Value = res.json().await.unwrap();
    let (target, year) = campaign_fixture(app).await;
    Fixture {
        public_task,
        internal_task,
        photo_url: report["photos"][0]["url"].as_str().unwrap().to_owned(),
        target,
        year,
    }
}

/// The campaign `fx` of this year and the next, with a target next year and a frozen result this year.
async fn campaign_fixture(app: &TestApp) -> (i64, i32) {
    let bureau = app.login("bureau").await;
    let year = crate::campaigns::this_year();
    let c = json!({"code": "fx", "name_zh": "攻坚", "name_en": "Drive", "first_year": year, "last_year": year + 1});
    assert_eq!(bureau.post("/api/campaigns", &c).await.status(), StatusCode::CREATED);
    let t = json!({"year": year + 1, "township": WEST, "category": "watershed", "task_count": 2});
    let target: Value = bureau.post("/api/campaigns/fx/targets", &t).await.json().await.unwrap();
    let res = bureau.post(&format!("/api/campaigns/fx/years/{year}/assessment"), &json!({"reason": "定稿"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    (target["id"].as_i64().unwrap(), year)
}

/// A target of this year no other cell sets: township and family chosen by `n`.
fn new_target(n: usize) -> Value {
    let townships = [WEST, MIDDLE, EAST];
    let families = ["watershed", "chemical", "energy", "village"];
    json!({"year": crate::campaigns::this_year(), "township": townships[n % 3], "category": families[(n / 3) % 4],
           "task_count": 1})
}

/// What a cell sends.
enum Body {
    None,
    Json(Value),
    /// A fresh JSON body for each caller (unique usernames and the like).
    JsonFn(fn(usize) -> Value),
    /// A report, multipart with one text field.
    Report,
}

struct Row {
    method: Method,
    /// The route as the API description names it.
    route: &'static str,
    /// The concrete path to call.
    path: String,
    body: Body,
    if_match: bool,
    expect: [u16; 6],
}

fn rows(f: &Fixture) -> Vec<Row> {
    let p = &f.public_task;
    let i = &f.internal_task;
    let row = |method: Method, route: &'static str, path: String, body: Body, if_match: bool, expect: [u16; 6]| Row {
        method,
        route,
        path,
        body,
        if_match,
        expect,
    };
    let township = json!({"type": "Feature", "properties": {"name": "清源经济开发区", "kind": "development_zone"},
        "geometry": {"type": "Polygon", "coordinates": [[[120.0, SOUTH], [120.1, SOUTH], [120.1, NORTH], [120.0, NORTH], [120.0, SOUTH]]]}});
    vec![
        row(Method::GET, "/api/health", "/api/health".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/health/live", "/api/health/live".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/health/ready", "/api/health/ready".into(), Body::None, false, [200; 6]),
        // Every caller with an account reaches the check of the current password (refused here).
        row(
            Method::POST,
            "/api/me/password",
            "/api/me/password".into(),
            Body::Json(json!({"current_password": "not-the-password", "new_password": "a-long-new-passphrase-9"})),
            false,
            [401, 422, 422, 422, 422, 422],
        ),
        // Administrators only; an administrator's JSON body is refused for not being a form.
        row(
            Method::POST,
            "/api/townships/import",
            "/api/townships/import".into(),
            Body::Json(json!({})),
            false,
            [401, 403, 403, 403, 403, 415],
        ),
        row(Method::GET, "/api/openapi.json", "/api/openapi.json".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/townships", "/api/townships".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/categories", "/api/categories".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/departments", "/api/departments".into(), Body::None, false, [200; 6]),
        row(
            Method::POST,
            "/api/departments",
            "/api/departments".into(),
            Body::JsonFn(|n| json!({"code": format!("dept{n}"), "name_zh": "林业局", "name_en": "Forestry Bureau"})),
            false,
            [401, 403, 403, 403, 403, 201],
        ),
        row(
            Method::PATCH,
            "/api/departments/{code}",
            "/api/departments/water".into(),
            Body::Json(json!({"name_en": "Water Resources Bureau"})),
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        // Retires (nothing is deleted); no other row gives a task to it.
        row(
            Method::DELETE,
            "/api/departments/{code}",
            "/api/departments/industry".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(Method::GET, "/api/tasks", "/api/tasks".into(), Body::None, false, [200; 6]),
        row(
            Method::POST,
            "/api/tasks",
            "/api/tasks".into(),
            Body::Json(task_at(point(119.95, 30.8), json!({}))),
            false,
            [401, 403, 403, 403, 201, 201],
        ),
        row(Method::GET, "/api/tasks/{id}", format!("/api/tasks/{p}"), Body::None, false, [200; 6]),
        row(
            Method::GET,
            "/api/tasks/{id}",
            format!("/api/tasks/{i}"),
            Body::None,
            false,
            [404, 200, 404, 404, 200, 200],
        ),
        row(
            Method::PATCH,
            "/api/tasks/{id}",
            format!("/api/tasks/{p}"),
            Body::Json(json!({"properties": {"lead_unit": "县水利局"}})),
            true,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            Method::POST,
            "/api/tasks/{id}/reports",
            format!("/api/tasks/{p}/reports"),
            Body::Report,
            true,
            [401, 201, 403, 403, 201, 201],
        ),
        row(
            Method::GET,
            "/api/tasks/{id}/reports",
            format!("/api/tasks/{p}/reports"),
            Body::None,
            false,
            [401, 200, 403, 403, 200, 200],
        ),
        row(
            Method::GET,
            "/api/tasks/{id}/reports",
            format!("/api/tasks/{i}/reports"),
            Body::None,
            false,
            [401, 200, 404, 404, 200, 200],
        ),
        row(
            Method::POST,
            "/api/tasks/{id}/transitions",
            format!("/api/tasks/{p}/transitions"),
            Body::JsonFn(|n| json!({"action": if n % 2 == 0 { "supervise" } else { "unsupervise" }})),
            true,
            [401, 403, 403, 403, 200, 200],
        ),
        row(Method::GET, "/api/tasks/{id}/history", format!("/api/tasks/{p}/history"), Body::None, false, [200; 6]),
        // Everyone may ask of a task they see; the public's list stays empty until it is verified.
        row(Method::GET, "/api/tasks/{id}/photos", format!("/api/tasks/{p}/photos"), Body::None, false, [200; 6]),
        row(
            Method::GET,
            "/api/tasks/{id}/history",
            format!("/api/tasks/{i}/history"),
            Body::None,
            false,
            [404, 200, 404, 404, 200, 200],
        ),
        row(
            Method::GET,
            "/api/photos/{sha256}",
            f.photo_url.clone(),
            Body::None,
            false,
            [404, 200, 404, 404, 200, 200],
        ),
        row(Method::GET, "/api/me", "/api/me".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/me/tokens", "/api/me/tokens".into(), Body::None, false, [401, 200, 200, 200, 200, 200]),
        row(
            Method::POST,
            "/api/me/tokens",
            "/api/me/tokens".into(),
            Body::Json(json!({"name": "脚本"})),
            false,
            [401, 201, 201, 201, 201, 201],
        ),
        row(
            Method::DELETE,
            "/api/me/tokens/{id}",
            format!("/api/me/tokens/{}", uuid::Uuid::new_v4()),
            Body::None,
            false,
            [401, 404, 404, 404, 404, 404],
        ),
        // Two-step verification: every account may enrol itself; none here has it on yet.
        row(
            Method::POST,
            "/api/me/two-factor",
            "/api/me/two-factor".into(),
            Body::None,
            false,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            Method::POST,
            "/api/me/two-factor/confirm",
            "/api/me/two-factor/confirm".into(),
            Body::Json(json!({"code": "not a code"})),
            false,
            [401, 422, 422, 422, 422, 422],
        ),
        row(
            Method::POST,
            "/api/me/two-factor/recovery-codes",
            "/api/me/two-factor/recovery-codes".into(),
            Body::Json(json!({"code": "123456"})),
            false,
            [401, 409, 409, 409, 409, 409],
        ),
        row(
            Method::DELETE,
            "/api/me/two-factor",
            "/api/me/two-factor".into(),
            Body::Json(json!({"password": "greenledger-demo", "code": "123456"})),
            false,
            [401, 409, 409, 409, 409, 409],
        ),
        row(
            Method::GET,
            "/api/security/two-factor",
            "/api/security/two-factor".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::PUT,
            "/api/security/two-factor",
            "/api/security/two-factor".into(),
            Body::Json(json!({"required_for": []})),
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(Method::GET, "/api/review", "/api/review".into(), Body::None, false, [401, 403, 403, 403, 200, 200]),
        row(
            Method::GET,
            "/api/review/count",
            "/api/review/count".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        // Staff get past the door and are told the report does not exist.
        row(
            Method::POST,
            "/api/review/seen",
            "/api/review/seen".into(),
            Body::Json(json!({"reports": ["00000000-0000-0000-0000-000000000001"]})),
            false,
            [401, 403, 403, 403, 422, 422],
        ),
        row(Method::GET, "/api/users", "/api/users".into(), Body::None, false, [401, 403, 403, 403, 403, 200]),
        // Everyone logged in has an inbox (staff an empty one); an id not in it is not found.
        row(Method::GET, "/api/inbox", "/api/inbox".into(), Body::None, false, [401, 200, 200, 200, 200, 200]),
        row(
            Method::GET,
            "/api/inbox/count",
            "/api/inbox/count".into(),
            Body::None,
            false,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            Method::POST,
            "/api/inbox/{id}/read",
            "/api/inbox/00000000-0000-0000-0000-000000000001/read".into(),
            Body::None,
            false,
            [401, 404, 404, 404, 404, 404],
        ),
        row(
            Method::POST,
            "/api/inbox/read",
            "/api/inbox/read".into(),
            Body::None,
            false,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            Method::POST,
            "/api/tasks/{id}/chase",
            format!("/api/tasks/{p}/chase"),
            Body::Json(json!({"message": "请加快进度"})),
            false,
            [401, 403, 403, 403, 201, 201],
        ),
        row(
            Method::GET,
            "/api/reminders/settings",
            "/api/reminders/settings".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::PUT,
            "/api/reminders/settings",
            "/api/reminders/settings".into(),
            Body::Json(json!({"due_within_days": 7, "stale_after_days": 30, "run_at": "08:00"})),
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::GET,
            "/api/reminders/channels",
            "/api/reminders/channels".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::PUT,
            "/api/reminders/channels/{unit_kind}/{unit_code}",
            format!("/api/reminders/channels/township/{MIDDLE}"),
            Body::Json(json!({"emails": ["zhang@qingxi.example.cn"]})),
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::GET,
            "/api/reminders/deliveries",
            "/api/reminders/deliveries".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(Method::GET, "/api/users", "/api/users".into(), Body::None, false, [401, 403, 403, 403, 403, 200]),
        row(
            Method::POST,
            "/api/users",
            "/api/users".into(),
            Body::JsonFn(
                |n| json!({"username": format!("user{n}"), "role": "bureau", "password": "long enough, surely"}),
            ),
            false,
            [401, 403, 403, 403, 403, 201],
        ),
        row(
            Method::POST,
            "/api/users/bulk",
            "/api/users/bulk".into(),
            Body::JsonFn(|n| json!([{"username": format!("officer{n}"), "role": "township", "township": WEST}])),
            false,
            [401, 403, 403, 403, 403, 201],
        ),
        row(
            Method::POST,
            "/api/categories",
            "/api/categories".into(),
            Body::JsonFn(|n| {
                let letter = |k: usize| char::from(b'A' + (k % 26) as u8);
                json!({"code": format!("family{n}"), "prefix": format!("Z{}{}{}", letter(n / 676), letter(n / 26), letter(n)),
                       "name_zh": "生态修复", "name_en": "Restoration", "color": "#2e8b57"})
            }),
            false,
            [401, 403, 403, 403, 403, 201],
        ),
        row(
            Method::PATCH,
            "/api/categories/{code}",
            "/api/categories/village".into(),
            Body::Json(json!({"color": "#33a02c"})),
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        // Retires (nothing is deleted); no other row writes an energy task.
        row(
            Method::DELETE,
            "/api/categories/{code}",
            "/api/categories/energy".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::PATCH,
            "/api/users/{id}",
            "/api/users/{bureau}".into(),
            Body::Json(json!({"display_name": "县环保局"})),
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/api/users/{id}/logout",
            "/api/users/{bureau}/logout".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(Method::GET, "/api/audit", "/api/audit".into(), Body::None, false, [401, 403, 403, 403, 403, 200]),
        row(Method::GET, "/api/audit.csv", "/api/audit.csv".into(), Body::None, false, [401, 403, 403, 403, 403, 200]),
        row(
            Method::PUT,
            "/api/townships/{code}",
            format!("/api/townships/{EAST}"),
            Body::Json(township),
            false,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/api/session",
            "/api/session".into(),
            Body::Json(json!({"username": "bureau", "password": "wrong"})),
            false,
            [401; 6],
        ),
        row(Method::DELETE, "/api/session", "/api/session".into(), Body::None, false, [204; 6]),
        row(
            Method::POST,
            "/api/import",
            "/api/import".into(),
            Body::Json(json!({"type": "FeatureCollection", "features": [task_at(point(119.97, 30.8), json!({}))]})),
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        // Bureau staff; their JSON body is refused for not being a form with the ledger file.
        row(
            Method::POST,
            "/api/import/ledger",
            "/api/import/ledger".into(),
            Body::Json(json!({})),
            false,
            [401, 403, 403, 403, 415, 415],
        ),
        row(Method::GET, "/ogc", "/ogc".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/ogc/", "/ogc/".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/ogc/api", "/ogc/api".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/ogc/conformance", "/ogc/conformance".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/ogc/collections", "/ogc/collections".into(), Body::None, false, [200; 6]),
        row(
            Method::GET,
            "/ogc/collections/{collectionId}",
            "/ogc/collections/tasks".into(),
            Body::None,
            false,
            [200; 6],
        ),
        row(
            Method::GET,
            "/ogc/collections/{collectionId}/queryables",
            "/ogc/collections/tasks/queryables".into(),
            Body::None,
            false,
            [200; 6],
        ),
        row(
            Method::GET,
            "/ogc/collections/{collectionId}/schema",
            "/ogc/collections/tasks/schema".into(),
            Body::None,
            false,
            [200; 6],
        ),
        row(Method::GET, OGC_ITEMS, "/ogc/collections/tasks/items".into(), Body::None, false, [200; 6]),
        row(Method::GET, OGC_ITEM, format!("/ogc/collections/tasks/items/{p}"), Body::None, false, [200; 6]),
        row(
            Method::GET,
            OGC_ITEM,
            format!("/ogc/collections/tasks/items/{i}"),
            Body::None,
            false,
            [404, 200, 404, 404, 200, 200],
        ),
        // OGC API - Features Part 4: the same rules as /api/tasks; nobody deletes a task.
        row(
            Method::POST,
            OGC_ITEMS,
            "/ogc/collections/tasks/items".into(),
            Body::Json(task_at(point(119.95, 30.8), json!({}))),
            false,
            [401, 403, 403, 403, 201, 201],
        ),
        row(
            Method::PUT,
            OGC_ITEM,
            format!("/ogc/collections/tasks/items/{p}"),
            Body::Json(task_at(point(119.95, 30.85), json!({"contact_person": "王伟"}))),
            true,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            Method::PATCH,
            OGC_ITEM,
            format!("/ogc/collections/tasks/items/{p}"),
            Body::Json(json!({"properties": {"lead_unit": "县生态环境局"}})),
            true,
            [401, 403, 403, 403, 200, 200],
        ),
        row(Method::DELETE, OGC_ITEM, format!("/ogc/collections/tasks/items/{p}"), Body::None, false, [405; 6]),
        row(Method::GET, "/tiles/tasks.json", "/tiles/tasks.json".into(), Body::None, false, [200; 6]),
        // The z14 tile holding both fixture tasks.
        row(
            Method::GET,
            "/tiles/tasks/{z}/{x}/{y}",
            "/tiles/tasks/14/13651/6714.mvt".into(),
            Body::None,
            false,
            [200; 6],
        ),
        row(Method::GET, "/api/config", "/api/config".into(), Body::None, false, [200; 6]),
        // Rollups count what each caller may see; every caller may ask.
        row(Method::GET, "/api/rollups/townships", "/api/rollups/townships".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/rollups/departments", "/api/rollups/departments".into(), Body::None, false, [200; 6]),
        row(
            Method::GET,
            "/api/rollups/townships.geojson",
            "/api/rollups/townships.geojson".into(),
            Body::None,
            false,
            [200; 6],
        ),
        row(Method::GET, "/api/rollups/monthly", "/api/rollups/monthly".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/export/tasks.csv", "/api/export/tasks.csv".into(), Body::None, false, [200; 6]),
        row(Method::GET, EXPORT_FEATURES, EXPORT_FEATURES.into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/export/ledger.xlsx", "/api/export/ledger.xlsx".into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/campaigns", "/api/campaigns".into(), Body::None, false, [200; 6]),
        row(
            Method::POST,
            "/api/campaigns",
            "/api/campaigns".into(),
            Body::JsonFn(
                |n| json!({"code": format!("c{n}"), "name_zh": "攻坚", "name_en": "Drive", "first_year": 2026, "last_year": 2026}),
            ),
            false,
            [401, 403, 403, 403, 201, 201],
        ),
        row(Method::GET, "/api/campaigns/{code}", "/api/campaigns/fx".into(), Body::None, false, [200; 6]),
        row(
            Method::PATCH,
            "/api/campaigns/{code}",
            "/api/campaigns/fx".into(),
            Body::Json(json!({"name_en": "Three-year drive"})),
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/targets",
            "/api/campaigns/fx/targets".into(),
            Body::None,
            false,
            [200; 6],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/targets.csv",
            "/api/campaigns/fx/targets.csv".into(),
            Body::None,
            false,
            [200; 6],
        ),
        row(
            Method::POST,
            "/api/campaigns/{code}/targets",
            "/api/campaigns/fx/targets".into(),
            Body::JsonFn(new_target),
            false,
            [401, 403, 403, 403, 201, 201],
        ),
        row(
            Method::PUT,
            "/api/campaigns/{code}/targets/{id}",
            format!("/api/campaigns/fx/targets/{}", f.target),
            Body::Json(json!({"year": f.year + 1, "township": WEST, "category": "watershed", "task_count": 3})),
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        // The bureau removes the target; the administrator then finds none.
        row(
            Method::DELETE,
            "/api/campaigns/{code}/targets/{id}",
            format!("/api/campaigns/fx/targets/{}", f.target),
            Body::None,
            false,
            [401, 403, 403, 403, 204, 404],
        ),
        row(
            Method::POST,
            "/api/campaigns/{code}/tasks",
            "/api/campaigns/fx/tasks".into(),
            Body::Json(json!({"join": [], "leave": []})),
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/history",
            "/api/campaigns/fx/history".into(),
            Body::None,
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/years/{year}/scheme",
            format!("/api/campaigns/fx/years/{}/scheme", f.year),
            Body::None,
            false,
            [200; 6],
        ),
        row(
            Method::PUT,
            "/api/campaigns/{code}/years/{year}/scheme",
            format!("/api/campaigns/fx/years/{}/scheme", f.year),
            Body::Json(json!({"indicators": [{"indicator": "verified_rate", "weight": 100}]})),
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/years/{year}/assessment",
            format!("/api/campaigns/fx/years/{}/assessment", f.year),
            Body::None,
            false,
            [200; 6],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/years/{year}/assessment",
            format!("/api/campaigns/fx/years/{}/assessment?version=draft", f.year),
            Body::None,
            false,
            [401, 403, 403, 403, 200, 200],
        ),
        row(
            Method::POST,
            "/api/campaigns/{code}/years/{year}/assessment",
            format!("/api/campaigns/fx/years/{}/assessment", f.year),
            Body::Json(json!({"reason": "重新计算"})),
            false,
            [401, 403, 403, 403, 201, 201],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/years/{year}/assessment/versions",
            format!("/api/campaigns/fx/years/{}/assessment/versions", f.year),
            Body::None,
            false,
            [200; 6],
        ),
        row(
            Method::GET,
            "/api/campaigns/{code}/years/{year}/assessment.xlsx",
            format!("/api/campaigns/fx/years/{}/assessment.xlsx", f.year),
            Body::None,
            false,
            [200; 6],
        ),
        row(Method::GET, "/api/export/tasks.csv", "/api/export/tasks.csv".into(), Body::None, false, [200; 6]),
        row(Method::GET, EXPORT_FEATURES, EXPORT_FEATURES.into(), Body::None, false, [200; 6]),
        row(Method::GET, "/api/export/ledger.xlsx", "/api/export/ledger.xlsx".into(), Body::None, false, [200; 6]),
    ]
}

const OGC_ITEMS: &str = "/ogc/collections/{collectionId}/items";
const EXPORT_FEATURES: &str = "/api/export/tasks.geojson";
const OGC_ITEM: &str = "/ogc/collections/{collectionId}/items/{featureId}";

/// A fresh session for one of `WHO`.
async fn caller(app: &TestApp, who: &str) -> Caller {
    match who {
        "anonymous" => app.anonymous(),
        "own township" => app.login(&format!("township-{MIDDLE}")).await,
        "other township" => app.login(&format!("township-{WEST}")).await,
        "department" => app.login("department-housing").await,
        "bureau" => app.login("bureau").await,
        _ => app.login("admin").await,
    }
}

/// Fields of a task Feature only some callers see.
const PRIVATE: [&str; 2] = ["contact_person", "contact_phone"];

#[tokio::test]
async fn every_endpoint_answers_every_kind_of_caller_as_the_policy_says() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let bureau_id: String =
        sqlx::query_scalar("SELECT id::text FROM users WHERE username = 'bureau'").fetch_one(&app.db).await.unwrap();
    let table = rows(&f);

    // Every route in the API description is in the table.
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let described: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let covered: BTreeSet<(String, String)> =
        table.iter().map(|r| (r.method.to_string(), r.route.to_owned())).collect();
    let missing: Vec<_> = described.difference(&covered).collect();
    assert!(missing.is_empty(), "endpoints without an access rule in this test: {missing:?}");

    let mut cells = 0;
    for (n, row) in table.iter().enumerate() {
        for (who, expected) in WHO.iter().zip(row.expect) {
            // A fresh session per cell: logging out (a row of the table) must not spoil the next.
            let caller = caller(&app, who).await;
            let path = row.path.replace("{bureau}", &bureau_id);
            let etag = if row.if_match { app.etag(&f.public_task).await } else { String::new() };
            let res = match &row.body {
                Body::Report => caller.report(&f.public_task, &etag, &new_key(), &[("note", "巡查")], &[]).await,
                body => {
                    let mut req = caller.request(row.method.clone(), &path);
                    if row.if_match {
                        req = req.header("if-match", &etag);
                    }
                    let json = match body {
                        Body::Json(v) => Some(v.clone()),
                        Body::JsonFn(make) => Some(make(n * 10 + cells)),
                        _ => None,
                    };
                    if let Some(v) = json {
                        req = req.header("content-type", "application/json").body(v.to_string());
                    }
                    req.send().await.unwrap()
                }
            };
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            assert_eq!(status, StatusCode::from_u16(expected).unwrap(), "{} {path} as {who}: {text}", row.method);

            // Reads of tasks: private fields only for those entitled to them.
            if row.method == Method::GET
                && (row.route.starts_with("/api/tasks")
                    || row.route.starts_with(OGC_ITEMS)
                    || row.route == EXPORT_FEATURES)
                && status == StatusCode::OK
                && !row.route.contains("/reports")
            {
                let entitled = matches!(*who, "own township" | "bureau" | "admin");
                let body: Value = serde_json::from_str(&text).unwrap();
                let features = match body["type"].as_str() {
                    Some("FeatureCollection") => body["features"].as_array().unwrap().clone(),
                    Some("Feature") => vec![body.clone()],
                    _ => vec![],
                };
                for feature in features.iter().filter(|x| x["id"] == f.public_task.as_str()) {
                    for field in PRIVATE {
                        assert_eq!(feature["properties"].get(field).is_some(), entitled, "{field} of {path} as {who}");
                    }
                }
                if row.route == "/api/tasks" || row.route == OGC_ITEMS || row.route == EXPORT_FEATURES {
                    let sees_internal = features.iter().any(|x| x["id"] == f.internal_task.as_str());
                    assert_eq!(sees_internal, entitled, "internal task in the list as {who}");
                }
                if row.route == "/api/tasks/{id}/history" {
                    let named = body.as_array().unwrap().iter().any(|e| e.get("actor").is_some());
                    assert_eq!(named, entitled, "names in the history as {who}");
                }
            }
            cells += 1;
        }
    }
    println!("access matrix: {} endpoint rows × {} callers = {cells} cells", table.len(), WHO.len());
}

/// Authorization comes before preconditions: every guarded write sent without If-Match answers a
/// caller the policy refuses with that refusal (401, 403, 404), and only those it allows with 428,
/// so a missing header tells nobody anything about what they may not do.
#[tokio::test]
async fn who_may_write_is_decided_before_the_missing_if_match() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let guarded: Vec<Row> = rows(&f).into_iter().filter(|r| r.if_match).collect();
    assert!(guarded.len() >= 5, "PATCH, reports, transitions and the OGC edits");
    for row in &guarded {
        for (who, allowed) in WHO.iter().zip(row.expect) {
            let caller = caller(&app, who).await;
            let req = caller.request(row.method.clone(), &row.path);
            let req = match &row.body {
                Body::Report => req
                    .header("idempotency-key", new_key())
                    .multipart(reqwest::multipart::Form::new().text("note", "巡查")),
                Body::Json(v) => req.header("content-type", "application/json").body(v.to_string()),
                Body::JsonFn(make) => req.header("content-type", "application/json").body(make(1).to_string()),
                Body::None => req,
            };
            let res = req.send().await.unwrap();
            let expected = if matches!(allowed, 401 | 403 | 404) { allowed } else { 428 };
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            assert_eq!(status, expected, "{} {} as {who} without If-Match: {text}", row.method, row.path);
        }
    }
}
