//! The bureau's review queue (待审核) and the review rules: evidence for verification, confirmed
//! lowering of progress, and a returned task showing its accepted progress.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn queue(caller: &Caller) -> Value {
    let res = caller.get("/api/review").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The items of `section` about task `id`.
fn items<'a>(q: &'a Value, section: &str, id: &str) -> Vec<&'a Value> {
    q[section].as_array().unwrap().iter().filter(|i| i["task"]["id"] == id).collect()
}

async fn progress_of(caller: &Caller, id: &str) -> i64 {
    let v: Value = caller.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    v["properties"]["progress"].as_i64().unwrap()
}

#[tokio::test]
async fn the_queue_is_the_bureaus_and_lists_reports_until_seen() {
    let app = spawn_app().await;
    let id = app.create(&task_at(point(119.95, 30.85), json!({}))).await.0;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    problem(township.get("/api/review").await, StatusCode::FORBIDDEN).await;
    problem(app.anonymous().get("/api/review/count").await, StatusCode::UNAUTHORIZED).await;

    let before: Value = app.get("/api/review/count").await.json().await.unwrap();
    let etag = township.etag(&id).await;
    let res = township
        .report(&id, &etag, &new_key(), &[("action", "start"), ("progress", "20")], &[("a.jpg", jpeg(7, 400))])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();

    let q = queue(&app).await;
    let new = items(&q, "new_reports", &id);
    assert_eq!(new.len(), 1, "{q}");
    assert_eq!(new[0]["report"]["id"], report["id"]);
    assert_eq!(new[0]["report"]["progress"], 20);
    assert_eq!(new[0]["photos"].as_array().unwrap().len(), 1);
    assert_eq!(q["count"], before["count"].as_i64().unwrap() + 1);

    // Unknown ids mark nothing and are named.
    let bogus = "00000000-0000-0000-0000-000000000001";
    let p = problem(
        app.post("/api/review/seen", &json!({"reports": [report["id"], bogus]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/reports/1"]);
    assert_eq!(items(&queue(&app).await, "new_reports", &id).len(), 1);

    let res = app.post("/api/review/seen", &json!({"reports": [report["id"]]})).await;
    let marked: Value = res.json().await.unwrap();
    assert_eq!(marked["marked"], 1);
    assert_eq!(marked["count"], before["count"]);
    assert!(items(&queue(&app).await, "new_reports", &id).is_empty());
    // Seen marks are per user: another clerk still has it.
    let other = app.login("admin").await;
    assert_eq!(items(&queue(&other).await, "new_reports", &id).len(), 1);
}

#[tokio::test]
async fn completions_wait_oldest_first_and_verification_needs_a_photo_or_a_reason() {
    let app = spawn_app().await;
    // A family that does not ask for a photo of the finished work: a completion may say why there is none.
    let admin = app.login("admin").await;
    let res = admin.patch("/api/categories/watershed", "", &json!({"require_after_photo": false})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = app.create(&task_at(point(119.95, 30.85), json!({"status": "in_progress", "progress": 50}))).await.0;
        let etag = township.etag(&id).await;
        let res =
            township.report(&id, &etag, &new_key(), &[("action", "complete"), ("note", "现场无法拍照")], &[]).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        ids.push(id);
    }
    let q = queue(&app).await;
    let waiting: Vec<&str> = q["awaiting_verification"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["task"]["id"].as_str())
        .filter(|id| ids.iter().any(|x| x == id))
        .collect();
    assert_eq!(waiting, [ids[0].as_str(), ids[1].as_str()], "oldest completion first");
    let item = items(&q, "awaiting_verification", &ids[0])[0];
    assert_eq!(item["flags"]["no_photo"], true);

    let p = problem(app.transition(&ids[0], "verify", None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/reason"]);
    let status: Value = app.get(&format!("/api/tasks/{}", ids[0])).await.json().await.unwrap();
    assert_eq!(status["properties"]["status"], "completed", "a refused verification changes nothing");

    let res = app.transition(&ids[0], "verify", Some("监测站已现场核查")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let history: Vec<Value> = app.get(&format!("/api/tasks/{}/history", ids[0])).await.json().await.unwrap();
    let verify = history.iter().find(|e| e["action"] == "verify").unwrap();
    assert_eq!(verify["reason"], "监测站已现场核查");
    assert!(items(&queue(&app).await, "awaiting_verification", &ids[0]).is_empty());
}

#[tokio::test]
async fn lowering_progress_needs_a_confirmation_and_a_note() {
    let app = spawn_app().await;
    let id = app.create(&task_at(point(119.95, 30.85), json!({"status": "in_progress", "progress": 81}))).await.0;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let p = problem(
        township.report(&id, &etag, &new_key(), &[("progress", "35")], &[]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/confirm_lower", "/note"]);
    assert_eq!(progress_of(&app, &id).await, 81, "nothing stored");
    let fields = [("progress", "35"), ("confirm_lower", "true"), ("note", "汛期冲毁护岸，重新施工")];
    let res = township.report(&id, &etag, &new_key(), &fields, &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(progress_of(&app, &id).await, 35);
}

#[tokio::test]
async fn a_returned_task_shows_its_accepted_progress_and_its_answer_is_queued() {
    let app = spawn_app().await;
    let id = app.create(&task_at(point(119.95, 30.85), json!({}))).await.0;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    township.report(&id, &etag, &new_key(), &[("action", "start"), ("progress", "10")], &[]).await;
    let etag = township.etag(&id).await;
    township.report(&id, &etag, &new_key(), &[("progress", "70")], &[]).await;
    let etag = township.etag(&id).await;
    township.report(&id, &etag, &new_key(), &[("action", "complete")], &[("a.jpg", jpeg(3, 300))]).await;
    assert_eq!(progress_of(&app.anonymous(), &id).await, 100);

    let res = app.transition(&id, "return", Some("护岸未按设计施工")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(progress_of(&app.anonymous(), &id).await, 10, "back to the progress accepted at the start");

    let etag = township.etag(&id).await;
    let res = township.report(&id, &etag, &new_key(), &[("progress", "90"), ("note", "已按设计整改")], &[]).await;
    let answer: Value = res.json().await.unwrap();
    let q = queue(&app).await;
    let answers = items(&q, "return_answers", &id);
    assert_eq!(answers.len(), 1, "{q}");
    assert_eq!(answers[0]["report"]["id"], answer["id"]);
    assert_eq!(answers[0]["kind"], "return_answered");
}
