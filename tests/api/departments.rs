//! Responsible departments (牵头单位 / 配合单位): the administrator keeps them, the bureau gives tasks a
//! lead and supporting departments, a department officer reports on the tasks its department leads
//! as a township officer does on its township's, and the department rollup counts each task in its
//! lead department, checked against figures worked out again here.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn department_task(app: &TestApp, lon: f64, extra: Value) -> String {
    app.create(&task_at(point(lon, 30.85), extra)).await.0
}

#[tokio::test]
async fn the_administrator_keeps_the_departments_and_a_retired_one_takes_no_new_task() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let listed: Value = app.anonymous().get("/api/departments").await.json().await.unwrap();
    let codes: Vec<&str> = listed.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["water", "housing", "agriculture", "industry", "ecology"], "the county's bureaus, in order");

    let made =
        admin.post("/api/departments", &json!({"code": "forestry", "name_zh": "林业局", "name_en": "Forestry"})).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let again =
        admin.post("/api/departments", &json!({"code": "forestry", "name_zh": "林业局", "name_en": "Forestry"})).await;
    let p = problem(again, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("forestry"), "{p}");
    let bad = admin.post("/api/departments", &json!({"code": "林业", "name_zh": " ", "sort_order": "1"})).await;
    let p = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/code", "/name_zh", "/name_en", "/sort_order"]);
    let renamed = admin.patch("/api/departments/forestry", "", &json!({"code": "woods"})).await;
    assert_eq!(pointers(&problem(renamed, StatusCode::UNPROCESSABLE_ENTITY).await), ["/code"], "a code never changes");
    let unknown = admin.request(reqwest::Method::DELETE, "/api/departments/mining").send().await.unwrap();
    problem(unknown, StatusCode::NOT_FOUND).await;
    let by_bureau =
        app.post("/api/departments", &json!({"code": "parks", "name_zh": "园林局", "name_en": "Parks"})).await;
    problem(by_bureau, StatusCode::FORBIDDEN).await;

    // A task it already leads keeps it; no new task can be given to it.
    let kept = department_task(&app, 119.95, json!({"lead_department": "forestry"})).await;
    let retired = admin.request(reqwest::Method::DELETE, "/api/departments/forestry").send().await.unwrap();
    assert_eq!(retired.json::<Value>().await.unwrap()["retired"], true);
    let refused =
        app.post("/api/tasks", &task_at(point(119.95, 30.85), json!({"support_departments": ["forestry"]}))).await;
    let p = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["errors"][0]["pointer"], "/properties/support_departments/0", "{p}");
    assert_eq!(p["errors"][0]["code"], "department_retired");
    let etag = app.etag(&kept).await;
    let edited = app.patch(&format!("/api/tasks/{kept}"), &etag, &json!({"properties": {"title": "林地修复"}})).await;
    assert_eq!(edited.status(), StatusCode::OK, "editing a task of a retired department is not giving it a new one");
    let task: Value = app.get(&format!("/api/tasks/{kept}")).await.json().await.unwrap();
    assert_eq!(task["properties"]["lead_department"], "forestry");
    assert_eq!(task["properties"]["lead_department_name"], "林业局");
}

#[tokio::test]
async fn a_task_names_existing_departments_each_once_and_nothing_is_stored_otherwise() {
    let app = spawn_app().await;
    let before = app.task_count().await;
    let cases = [
        (json!({"lead_department": "mining"}), "/properties/lead_department", "unknown_value"),
        (json!({"support_departments": ["housing", "mining"]}), "/properties/support_departments/1", "unknown_value"),
        (
            json!({"lead_department": "water", "support_departments": ["water"]}),
            "/properties/support_departments",
            "department_twice",
        ),
        (
            json!({"support_departments": ["housing", "housing"]}),
            "/properties/support_departments/1",
            "department_twice",
        ),
        (json!({"support_departments": "housing"}), "/properties/support_departments", "wrong_type"),
    ];
    for (extra, pointer, code) in cases {
        let res = app.post("/api/tasks", &task_at(point(119.95, 30.85), extra.clone())).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            (p["errors"][0]["pointer"].as_str(), p["errors"][0]["code"].as_str()),
            (Some(pointer), Some(code)),
            "{extra}: {p}"
        );
    }
    assert_eq!(app.task_count().await, before, "nothing stored");

    let id =
        department_task(&app, 119.95, json!({"lead_department": "water", "support_departments": ["housing"]})).await;
    let etag = app.etag(&id).await;
    let changed = app
        .patch(
            &format!("/api/tasks/{id}"),
            &etag,
            &json!({"properties": {"lead_department": "housing", "support_departments": ["water", "ecology"]}}),
        )
        .await;
    let body: Value = changed.json().await.unwrap();
    assert_eq!(body["properties"]["lead_department"], "housing", "{body}");
    assert_eq!(body["properties"]["support_departments"], json!(["water", "ecology"]));
    let history: Value = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
    let edit = history.as_array().unwrap().iter().find(|e| e["kind"] == "updated").expect("the edit is in the history");
    assert_eq!(edit["changes"]["lead_department"], json!({"before": "water", "after": "housing"}));
}

#[tokio::test]
async fn a_department_officer_reports_on_the_tasks_its_department_leads_and_no_others() {
    let app = spawn_app().await;
    let led = department_task(&app, 119.85, json!({"lead_department": "water", "contact_phone": "13900001111"})).await;
    let internal = department_task(&app, 120.05, json!({"lead_department": "water", "visibility": "internal"})).await;
    let supported =
        department_task(&app, 119.95, json!({"lead_department": "housing", "support_departments": ["water"]})).await;
    let water = app.login("department-water").await;

    // Its own tasks in full, across townships, internal ones included; others as the public sees them.
    let mine: Value = water.get("/api/tasks?department=water").await.json().await.unwrap();
    let ids: Vec<&str> = mine["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&led.as_str()) && ids.contains(&internal.as_str()) && !ids.contains(&supported.as_str()),
        "{ids:?}"
    );
    let full: Value = water.get(&format!("/api/tasks/{led}")).await.json().await.unwrap();
    assert_eq!(full["properties"]["contact_phone"], "13900001111");
    let other: Value = water.get(&format!("/api/tasks/{supported}")).await.json().await.unwrap();
    assert!(other["properties"].get("contact_phone").is_none(), "supporting is not leading");
    let housing = app.login("department-housing").await;
    assert_eq!(housing.get(&format!("/api/tasks/{internal}")).await.status(), StatusCode::NOT_FOUND);

    // It reports as a township officer does; the bureau's transitions stay the bureau's.
    let etag = water.etag(&led).await;
    let res = water
        .report(&led, &etag, &new_key(), &[("action", "start"), ("progress", "30"), ("note", "清淤开工")], &[])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    let task: Value = water.get(&format!("/api/tasks/{led}")).await.json().await.unwrap();
    assert_eq!(
        (task["properties"]["status"].as_str(), task["properties"]["progress"].as_i64()),
        (Some("in_progress"), Some(30))
    );
    let reports: Value = water.get(&format!("/api/tasks/{led}/reports")).await.json().await.unwrap();
    assert_eq!(reports[0]["note"], "清淤开工");
    let etag = water.etag(&supported).await;
    let res = water.report(&supported, &etag, &new_key(), &[("progress", "50")], &[]).await;
    let p = problem(res, StatusCode::FORBIDDEN).await;
    assert!(p["detail"].as_str().unwrap().contains("nor led by your department"), "{p}");
    let res = water.transition(&led, "cancel", Some("不做了")).await;
    problem(res, StatusCode::FORBIDDEN).await;
    // A township officer of the task's township still reports on it.
    let township = app.login(&format!("township-{WEST}")).await;
    let etag = township.etag(&led).await;
    let res = township.report(&led, &etag, &new_key(), &[("progress", "40")], &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let unknown = water.get("/api/tasks?department=mining").await;
    let p = problem(unknown, StatusCode::BAD_REQUEST).await;
    assert!(p["detail"].as_str().unwrap().contains("mining"), "{p}");
}

#[tokio::test]
async fn the_administrator_makes_department_officers_and_refuses_mixed_ones() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let ok = admin
        .post("/api/users", &json!({"username": "wang.water", "role": "department", "department": "water", "password": "a long password 7"}))
        .await;
    let body: Value = ok.json().await.unwrap();
    assert_eq!((body["role"].as_str(), body["department"].as_str()), (Some("department"), Some("water")), "{body}");
    let cases = [
        (json!({"username": "d1", "role": "department", "password": "a long password 7"}), "/department"),
        (
            json!({"username": "d2", "role": "department", "department": "mining", "password": "a long password 7"}),
            "/department",
        ),
        (
            json!({"username": "d3", "role": "township", "township": WEST, "department": "water", "password": "a long password 7"}),
            "/department",
        ),
        (
            json!({"username": "d4", "role": "department", "department": "water", "township": WEST, "password": "a long password 7"}),
            "/township",
        ),
    ];
    for (account, pointer) in cases {
        let res = admin.post("/api/users", &account).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(pointers(&p), [pointer], "{account}: {p}");
    }
    let me: Value = app.login("department-agriculture").await.get("/api/me").await.json().await.unwrap();
    assert_eq!(
        (me["user"]["role"].as_str(), me["user"]["department"].as_str()),
        (Some("department"), Some("agriculture"))
    );
}

/// One task of the department ledger: its lead (if any), status, due date from today, visibility.
#[derive(Clone)]
struct Led {
    lead: Option<&'static str>,
    status: &'static str,
    due: Option<i64>,
    internal: bool,
}

const fn led(lead: Option<&'static str>, status: &'static str, due: Option<i64>, internal: bool) -> Led {
    Led { lead, status, due, internal }
}

/// The figures the rollup gives a department, worked out from the list: (not cancelled, finished,
/// verified, overdue).
fn expected(ledger: &[Led], department: Option<&str>, public_only: bool, own: Option<&str>) -> (i64, i64, i64, i64) {
    let counted = ledger.iter().filter(|t| t.lead.is_some() && (department.is_none() || t.lead == department));
    let seen = counted.filter(|t| !t.internal || !public_only || (own.is_some() && t.lead == own));
    let (mut live, mut finished, mut verified, mut overdue) = (0, 0, 0, 0);
    for t in seen {
        if t.status == "cancelled" {
            continue;
        }
        live += 1;
        finished += i64::from(matches!(t.status, "completed" | "verified"));
        verified += i64::from(t.status == "verified");
        overdue += i64::from(matches!(t.status, "planned" | "in_progress") && t.due.is_some_and(|d| d < 0));
    }
    (live, finished, verified, overdue)
}

#[tokio::test]
async fn the_department_rollup_counts_each_task_in_its_lead_department() {
    let app = spawn_app().await;
    let ledger = [
        led(Some("water"), "verified", Some(-40), false),
        led(Some("water"), "completed", Some(10), false),
        led(Some("water"), "in_progress", Some(-3), false),
        led(Some("water"), "planned", Some(-1), true),
        led(Some("water"), "cancelled", Some(-9), false),
        led(Some("housing"), "in_progress", Some(30), false),
        led(Some("housing"), "completed", None, false),
        // No lead: in no department's row, nor in the total.
        led(None, "completed", None, false),
        led(None, "planned", Some(-5), false),
    ];
    let today = chrono::Utc::now().date_naive();
    for (i, t) in ledger.iter().enumerate() {
        let mut props = json!({"status": t.status, "visibility": if t.internal { "internal" } else { "public" }});
        if let Some(lead) = t.lead {
            props["lead_department"] = json!(lead);
        }
        if let Some(d) = t.due {
            props["due_date"] = json!((today + chrono::Duration::days(d)).to_string());
        }
        if t.status == "cancelled" {
            props["cancel_reason"] = json!("并入其他工程");
        }
        department_task(&app, 119.85 + 0.01 * i as f64, props).await;
    }
    // A task moved from one lead to another mid-year counts where it is led now.
    let moved = department_task(&app, 119.98, json!({"lead_department": "water", "status": "completed"})).await;
    let etag = app.etag(&moved).await;
    let res =
        app.patch(&format!("/api/tasks/{moved}"), &etag, &json!({"properties": {"lead_department": "housing"}})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut ledger = ledger.to_vec();
    ledger.push(led(Some("housing"), "completed", None, false));

    for (who, caller, public_only, own) in [
        ("the public", app.anonymous(), true, None),
        ("the bureau", app.login("bureau").await, false, None),
        ("the water bureau", app.login("department-water").await, true, Some("water")),
    ] {
        let body: Value = caller.get("/api/rollups/departments").await.json().await.unwrap();
        let rows = body["departments"].as_array().unwrap();
        let codes: Vec<&str> = rows.iter().map(|r| r["department_code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["water", "housing", "agriculture", "industry", "ecology"], "every department, as {who}");
        for row in rows.iter().chain([&body["total"]]) {
            let code = row["department_code"].as_str();
            let (live, finished, verified, overdue) = expected(&ledger, code, public_only, own);
            let got = (
                row["not_cancelled"].as_i64(),
                row["finished"].as_i64(),
                row["by_status"]["verified"].as_i64(),
                row["overdue"].as_i64(),
            );
            assert_eq!(got, (Some(live), Some(finished), Some(verified), Some(overdue)), "{code:?} as {who}");
            let rate = |n: i64| if live == 0 { Value::Null } else { json!(n as f64 / live as f64) };
            assert_eq!(row["completion_rate"], rate(finished), "{code:?} as {who}");
            assert_eq!(row["verified_rate"], rate(verified), "{code:?} as {who}");
            assert!(row.get("township_code").is_none() && row.get("township_name").is_none(), "{row}");
        }
        let agriculture = &rows[2];
        assert_eq!(
            (agriculture["tasks"].as_i64(), &agriculture["completion_rate"]),
            (Some(0), &Value::Null),
            "a department with no task"
        );
        assert_eq!(body["total"]["department_name"], "全部牵头部门");
    }
    let coverage: Value =
        app.login("department-water").await.get("/api/rollups/departments").await.json().await.unwrap();
    assert_eq!(coverage["coverage"], "public_and_own_department");
}
