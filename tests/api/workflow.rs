//! The lifecycle: townships report, the bureau verifies or sends work back, and nothing is lost.

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// A public task in the MIDDLE township, created by the bureau; returns its id.
async fn middle_task(app: &TestApp, extra: Value) -> String {
    app.create(&task_at(point(119.95, 30.85), extra)).await.0
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/tasks/{id}")).await.json::<Value>().await.unwrap()["properties"].clone()
}

#[tokio::test]
async fn a_task_goes_from_planned_to_verified_through_reports_and_the_bureau() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"contact_person": "王伟"})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;

    let etag = township.etag(&id).await;
    let res = township
        .report(&id, &etag, &new_key(), &[("action", "start"), ("progress", "10"), ("note", "已进场")], &[])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["status_before"], "planned");
    assert_eq!(report["status_after"], "in_progress");
    assert_eq!(report["author"], format!("township-{MIDDLE}"));

    let etag = township.etag(&id).await;
    let res = township.report(&id, &etag, &new_key(), &[("progress", "60"), ("note", "完成清淤一半")], &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let p = status_of(&app, &id).await;
    assert_eq!((p["status"].as_str(), p["progress"].as_i64()), (Some("in_progress"), Some(60)));
    assert!(p["last_report_at"].is_string());

    let etag = township.etag(&id).await;
    let photo = jpeg(1, 2000);
    let res = township
        .report(&id, &etag, &new_key(), &[("action", "complete"), ("note", "完工")], &[("现场.jpg", photo.clone())])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["photos"][0]["media_type"], "image/jpeg");
    assert_eq!(report["photos"][0]["bytes"], 2000);
    let p = status_of(&app, &id).await;
    assert_eq!((p["status"].as_str(), p["progress"].as_i64()), (Some("completed"), Some(100)));
    assert!(p["completed_at"].is_string());

    let res = app.transition(&id, "verify", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["properties"]["status"], "verified");
    assert!(body["properties"]["verified_at"].is_string());
}

#[tokio::test]
async fn the_bureau_returns_work_with_a_reason_the_township_reads() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 80})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let res = township.report(&id, &etag, &new_key(), &[("action", "complete")], &[("a.jpg", jpeg(2, 500))]).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let p = problem(app.transition(&id, "return", None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/reason"]);
    let res = app.transition(&id, "return", Some("护岸未按设计施工，请整改")).await;
    assert_eq!(res.status(), StatusCode::OK);

    let seen: Value = township.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(seen["properties"]["status"], "in_progress");
    assert_eq!(seen["properties"]["return_reason"], "护岸未按设计施工，请整改");
    assert_eq!(seen["properties"]["completed_at"], Value::Null);
    // The public never sees the reason.
    let public: Value = app.anonymous().get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert!(public["properties"].get("return_reason").is_none());

    // Completing again clears it.
    let etag = township.etag(&id).await;
    let res = township
        .report(&id, &etag, &new_key(), &[("action", "complete"), ("note", "已整改")], &[("after.jpg", jpeg(8, 400))])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let seen: Value = township.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(seen["properties"]["status"], "completed");
    assert_eq!(seen["properties"]["return_reason"], Value::Null);
}

#[tokio::test]
async fn cancelling_needs_a_reason_and_a_verified_task_cannot_be_cancelled() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({})).await;
    problem(app.transition(&id, "cancel", Some("  ")).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app.transition(&id, "cancel", Some("企业已关停")).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["properties"]["status"], "cancelled");
    assert_eq!(body["properties"]["cancel_reason"], "企业已关停");

    let done = middle_task(&app, json!({"status": "verified"})).await;
    let p = problem(app.transition(&done, "cancel", Some("x")).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("cannot cancel a task that is verified"), "{p}");
}

#[tokio::test]
async fn actions_out_of_order_are_409_naming_the_state() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({})).await;
    let p = problem(app.transition(&id, "verify", None).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("planned"), "{p}");
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let p = problem(
        township.report(&id, &etag, &new_key(), &[("action", "complete"), ("note", "x")], &[]).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("planned"), "{p}");
    let p =
        problem(township.report(&id, &etag, &new_key(), &[("progress", "30")], &[]).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("start"), "{p}");
    assert_eq!(status_of(&app, &id).await["status"], "planned");
}

#[tokio::test]
async fn supervision_is_flagged_until_lifted() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({})).await;
    assert_eq!(app.transition(&id, "supervise", None).await.status(), StatusCode::OK);
    assert_eq!(status_of(&app, &id).await["supervised"], true);
    problem(app.transition(&id, "supervise", None).await, StatusCode::CONFLICT).await;
    let listed: Value = app.anonymous().get("/api/tasks?supervised=true").await.json().await.unwrap();
    assert_eq!(listed["numberMatched"], 1);
    assert_eq!(app.transition(&id, "unsupervise", None).await.status(), StatusCode::OK);
    assert_eq!(status_of(&app, &id).await["supervised"], false);
}

#[tokio::test]
async fn a_township_reports_but_never_verifies_returns_or_cancels() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "completed"})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    for action in ["verify", "return", "cancel", "supervise"] {
        let p = problem(township.transition(&id, action, Some("理由")).await, StatusCode::FORBIDDEN).await;
        assert!(p["detail"].as_str().unwrap().contains("only the bureau"), "{action}: {p}");
    }
    assert_eq!(status_of(&app, &id).await["status"], "completed");
}

#[tokio::test]
async fn a_township_cannot_touch_another_townships_task() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 20})).await;
    let other = app.login(&format!("township-{WEST}")).await;
    let etag = other.etag(&id).await;
    let p =
        problem(other.report(&id, &etag, &new_key(), &[("progress", "90")], &[]).await, StatusCode::FORBIDDEN).await;
    assert!(p["detail"].as_str().unwrap().contains("neither your township"));
    problem(
        other.patch(&format!("/api/tasks/{id}"), &etag, &json!({"properties": {"progress": 90}})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(status_of(&app, &id).await["progress"], 20);
}

#[tokio::test]
async fn status_changes_only_through_the_workflow() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({})).await;
    let etag = app.etag(&id).await;
    let p = problem(
        app.patch(&format!("/api/tasks/{id}"), &etag, &json!({"properties": {"status": "verified"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/properties/status"]);
    let p = problem(
        app.post_if_match(&format!("/api/tasks/{id}/transitions"), &etag, &json!({"action": "complete"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("/reports"));
}

#[tokio::test]
async fn completion_needs_a_photo_of_the_finished_work_or_where_the_family_allows_a_note_saying_why_not() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 90})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let note = [("action", "complete"), ("note", "夜间施工无法拍照，已由监理签字确认")];
    let p = problem(township.report(&id, &etag, &new_key(), &note, &[]).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "completion_needs_after_photo", "by default a family asks for the finished work: {p}");

    let admin = app.login("admin").await;
    let res = admin.patch("/api/categories/watershed", "", &json!({"require_after_photo": false})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let p =
        problem(township.report(&id, &etag, &new_key(), &[("action", "complete")], &[]).await, StatusCode::CONFLICT)
            .await;
    assert!(p["detail"].as_str().unwrap().contains("photo"));
    let res = township
        .report(&id, &etag, &new_key(), &[("action", "complete"), ("note", "夜间施工无法拍照，已由监理签字确认")], &[])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn reports_honour_if_match_and_need_an_idempotency_key() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 20})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    // Someone else changes the task: the report made against the old version is refused.
    app.transition(&id, "supervise", None).await;
    let p = problem(
        township.report(&id, &etag, &new_key(), &[("progress", "50")], &[]).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(p["current"]["properties"]["supervised"], true);

    let res = township
        .request(reqwest::Method::POST, &format!("/api/tasks/{id}/reports"))
        .header(header::IF_MATCH, township.etag(&id).await)
        .json(&json!({"progress": 50}))
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::BAD_REQUEST).await;
    assert!(p["detail"].as_str().unwrap().contains("Idempotency-Key"));
    let res = township
        .request(reqwest::Method::POST, &format!("/api/tasks/{id}/reports"))
        .header("idempotency-key", new_key())
        .json(&json!({"progress": 50}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::PRECONDITION_REQUIRED).await;
    assert_eq!(status_of(&app, &id).await["progress"], 20);
}

#[tokio::test]
async fn a_report_resent_with_the_same_key_is_stored_once() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 20})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let key = new_key();
    let first =
        township.report(&id, &etag, &key, &[("progress", "40"), ("note", "第一次")], &[("a.jpg", jpeg(3, 800))]).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    // The phone never saw the answer and sends the same report again, with the old ETag.
    let again =
        township.report(&id, &etag, &key, &[("progress", "40"), ("note", "第一次")], &[("a.jpg", jpeg(3, 800))]).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM reports").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 1);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM task_events WHERE kind = 'reported'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 1);

    // The same key for a different report is a mistake, said so.
    let p =
        problem(township.report(&id, &etag, &key, &[("progress", "90")], &[]).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert!(p["detail"].as_str().unwrap().contains("different request"), "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_resends_of_one_report_store_it_once() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 20})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let key = new_key();
    let sends: Vec<_> = (0..50)
        .map(|_| {
            let (t, id, etag, key) = (township.clone(), id.clone(), etag.clone(), key.clone());
            tokio::spawn(async move {
                let res = t
                    .report(&id, &etag, &key, &[("progress", "70"), ("note", "弱网重发")], &[("p.jpg", jpeg(4, 3000))])
                    .await;
                let status = res.status();
                let body: Value = res.json().await.unwrap();
                (status, body["id"].as_str().map(str::to_owned))
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for s in sends {
        let (status, report) = s.await.unwrap();
        assert_eq!(status, StatusCode::CREATED);
        ids.insert(report.unwrap());
    }
    assert_eq!(ids.len(), 1, "every resend answers with the one stored report");
    let (reports, photos, events): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM report_photos),
                (SELECT count(*) FROM task_events WHERE kind = 'reported')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((reports, photos, events), (1, 1, 1));
    assert_eq!(status_of(&app, &id).await["progress"], 70);
}

#[tokio::test]
async fn a_non_image_or_oversized_upload_is_refused_and_leaves_nothing_behind() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 20})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;

    // A script named .jpg, after a good photo: the whole report is refused.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    let p = problem(
        township
            .report(&id, &etag, &new_key(), &[("progress", "50")], &[("ok.jpg", jpeg(5, 400)), ("photo.jpg", svg)])
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("'photo.jpg' is not a JPEG, PNG or WebP"), "{p}");

    let big = jpeg(6, 10 * 1024 * 1024 + 1);
    let p = problem(
        township.report(&id, &etag, &new_key(), &[("progress", "50")], &[("big.jpg", big)]).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("at most 10 MB"), "{p}");

    let seven: Vec<(&str, Vec<u8>)> = (0..7).map(|i| ("p.jpg", jpeg(10 + i, 300))).collect();
    problem(
        township.report(&id, &etag, &new_key(), &[("progress", "50")], &seven).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let reports: i64 = sqlx::query_scalar("SELECT count(*) FROM reports").fetch_one(&app.db).await.unwrap();
    assert_eq!(reports, 0);
    assert_eq!(app.stored_files(), 0, "no orphan photo files");
    assert_eq!(status_of(&app, &id).await["progress"], 20);
}

#[tokio::test]
async fn photos_are_served_with_their_type_only_to_those_who_may_see_them() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 80})).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let mut png = Vec::new();
    image::RgbImage::from_pixel(8, 8, image::Rgb([10, 120, 40]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let res = township.report(&id, &etag, &new_key(), &[("action", "complete")], &[("site.jpg", png.clone())]).await;
    let report: Value = res.json().await.unwrap();
    let url = report["photos"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(report["photos"][0]["media_type"], "image/png", "judged by content, not the .jpg name");
    assert_eq!(app.stored_files(), 1);

    let res = township.get(&url).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);

    // Before verification: not for the public, nor for another township.
    problem(app.anonymous().get(&url).await, StatusCode::NOT_FOUND).await;
    problem(app.login(&format!("township-{WEST}")).await.get(&url).await, StatusCode::NOT_FOUND).await;
    assert_eq!(app.get(&url).await.status(), StatusCode::OK);
    // Once the bureau verifies the public task, the evidence is public.
    app.transition(&id, "verify", None).await;
    let public = app.anonymous().get(&url).await;
    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(public.headers()[header::CONTENT_TYPE], "image/jpeg", "the public copy, re-encoded");
}

#[tokio::test]
async fn history_keeps_every_change_with_who_when_and_why() {
    let app = spawn_app().await;
    let id = middle_task(&app, json!({"status": "in_progress", "progress": 50, "contact_person": "王伟"})).await;
    let path = format!("/api/tasks/{id}");
    let etag = app.etag(&id).await;
    app.patch(
        &path,
        &etag,
        &json!({"properties": {"title": "新标题", "contact_person": "李娜"}, "geometry": point(119.96, 30.86)}),
    )
    .await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    township
        .report(&id, &etag, &new_key(), &[("action", "complete"), ("note", "完工")], &[("a.jpg", jpeg(7, 100))])
        .await;
    app.transition(&id, "return", Some("缺少验收资料")).await;

    let history: Vec<Value> = township.get(&format!("{path}/history")).await.json().await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "updated", "reported", "transition"]);
    assert_eq!(history[0]["actor"], "bureau");
    assert_eq!(history[1]["changes"]["title"], json!({"before": "青溪河河道清淤", "after": "新标题"}));
    assert_eq!(history[1]["changes"]["contact_person"], json!({"before": "王伟", "after": "李娜"}));
    assert_eq!(history[1]["changes"]["geometry"]["before"], point(119.95, 30.85));
    assert_eq!(history[1]["changes"]["geometry"]["after"], point(119.96, 30.86));
    assert_eq!(history[2]["actor"], format!("township-{MIDDLE}"));
    assert_eq!(history[2]["changes"]["note"], "完工");
    assert_eq!(
        (history[2]["status_before"].as_str(), history[2]["status_after"].as_str()),
        (Some("in_progress"), Some("completed"))
    );
    assert_eq!(history[3]["action"], "return");
    assert_eq!(history[3]["reason"], "缺少验收资料");

    // The public sees when the status changed, not who, why or what was said.
    let public: Vec<Value> = app.anonymous().get(&format!("{path}/history")).await.json().await.unwrap();
    let kinds: Vec<&str> = public.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "reported", "transition"]);
    for e in &public {
        assert!(e.get("actor").is_none() && e.get("reason").is_none() && e.get("changes").is_none(), "{e}");
    }
}

#[tokio::test]
async fn the_database_refuses_to_rewrite_history() {
    let app = spawn_app().await;
    middle_task(&app, json!({})).await;
    for sql in ["UPDATE task_events SET reason = 'x'", "DELETE FROM task_events", "TRUNCATE task_events"] {
        let err = sqlx::query(sql).execute(&app.db).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM task_events").fetch_one(&app.db).await.unwrap();
    assert_eq!(n, 1);
}
