//! Watching the service: /metrics in Prometheus's text format, health that tells "up" from
//! "ready", JSON log lines, and the request id in every problem document.

use crate::helpers::*;
use greenledger::store::DbConfig;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

async fn scrape(app: &TestApp) -> String {
    let res = app.anonymous().get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    res.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn requests_are_counted_by_route_and_status_with_their_latencies() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    for _ in 0..3 {
        assert_eq!(anon.get("/api/townships").await.status(), StatusCode::OK);
    }
    for _ in 0..2 {
        let missing = format!("/api/tasks/{}", uuid::Uuid::new_v4());
        assert_eq!(anon.get(&missing).await.status(), StatusCode::NOT_FOUND);
    }
    let text = scrape(&app).await;
    let labels = r#"route="/api/townships",method="GET",status="200""#;
    assert_eq!(sample(&text, &format!("greenledger_http_requests_total{{{labels}}}")), Some(3.0), "{text}");
    // The route's pattern, not each task's path.
    let missing = r#"route="/api/tasks/{id}",method="GET",status="404""#;
    assert_eq!(sample(&text, &format!("greenledger_http_requests_total{{{missing}}}")), Some(2.0), "{text}");
    assert!(!text.contains("/api/tasks/0") && !text.contains("/api/tasks/1"), "no task ids as labels");
    let inf = format!("greenledger_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}");
    assert_eq!(sample(&text, &inf), Some(3.0));
    let count = format!("greenledger_http_request_duration_seconds_count{{{labels}}}");
    assert_eq!(sample(&text, &count), Some(3.0));
    let sum = sample(&text, &format!("greenledger_http_request_duration_seconds_sum{{{labels}}}")).unwrap();
    assert!(sum > 0.0 && sum < 30.0, "{sum}");
    // Buckets are cumulative: never fewer in a wider one.
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&format!("greenledger_http_request_duration_seconds_bucket{{{labels}")))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 13);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert!(text.contains("# TYPE greenledger_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn the_pool_tasks_by_status_and_replayed_reports_are_reported() {
    let app = spawn_app().await;
    let (id, _, _) = app.create(&task_at(point(119.95, 30.85), json!({"status": "in_progress", "progress": 10}))).await;
    let township = app.login(&format!("township-{MIDDLE}")).await;
    let etag = township.etag(&id).await;
    let key = new_key();
    for _ in 0..3 {
        let res = township.report(&id, &etag, &key, &[("progress", "40")], &[]).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // A task's GET runs on a connection kept for one-statement reads, which then waits for the next.
    assert_eq!(app.get(&format!("/api/tasks/{id}")).await.status(), StatusCode::OK);
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "greenledger_reports_replayed_total"), Some(2.0), "{text}");
    let in_progress: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE status = 'in_progress'").fetch_one(&app.db).await.unwrap();
    assert!(in_progress >= 1);
    assert_eq!(sample(&text, r#"greenledger_tasks{status="in_progress"}"#), Some(in_progress as f64), "{text}");
    assert_eq!(sample(&text, "greenledger_db_connections_max"), Some(8.0));
    let in_use = sample(&text, r#"greenledger_db_connections{state="in_use"}"#).unwrap();
    let idle = sample(&text, r#"greenledger_db_connections{state="idle"}"#).unwrap();
    let kept = sample(&text, r#"greenledger_db_connections{state="kept"}"#).unwrap();
    assert!((1.0..=2.0).contains(&kept), "a quarter of the pool at most: {text}");
    assert!(in_use + idle + kept <= 8.0, "{in_use} {idle} {kept}");
    assert!(sample(&text, "greenledger_db_pool_timeouts_total").is_some());
}

#[tokio::test]
async fn with_a_token_set_metrics_need_it() {
    let app = spawn_app_serving(|s| s.metrics_token = Some("scrape-me-0123".into())).await;
    let anon = app.anonymous();
    let p = problem(anon.get("/metrics").await, StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("Bearer"), "{p}");
    let wrong = anon.request(Method::GET, "/metrics").bearer_auth("scrape-me-0124").send().await.unwrap();
    problem(wrong, StatusCode::UNAUTHORIZED).await;
    let right = anon.request(Method::GET, "/metrics").bearer_auth("scrape-me-0123").send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("greenledger_http_requests_total{"));
}

#[tokio::test]
async fn ready_means_the_database_answers_with_every_migration_applied() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    let live: Value = anon.get("/api/health/live").await.json().await.unwrap();
    assert_eq!(live["status"], "up");
    let ready = anon.get("/api/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["migrations"], greenledger::store::MIGRATOR.iter().count());
    // As if this binary were newer than the database: its last migration not yet applied.
    let last: i64 = sqlx::query_scalar(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations) RETURNING version",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let p = problem(anon.get("/api/health/ready").await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(p["pending_migrations"], json!([last]), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("greenledger migrate"), "{p}");
    assert_eq!(anon.get("/api/health/live").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_database_the_service_is_up_but_not_ready() {
    let config = DbConfig { db_timeout_secs: 1, ..DbConfig::new("postgres://postgres@127.0.0.1:1/none") };
    let app = spawn_with(config, String::new()).await;
    assert_eq!(app.get("/api/health/live").await.status(), StatusCode::OK);
    let p = problem(app.get("/api/health/ready").await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(p["detail"].as_str().unwrap().contains("unreachable"), "{p}");
    problem(app.get("/api/health").await, StatusCode::SERVICE_UNAVAILABLE).await;
}

#[tokio::test]
async fn every_problem_names_its_request_id() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    let res =
        anon.request(Method::GET, "/api/tasks/not-a-uuid").header("x-request-id", "caller-77").send().await.unwrap();
    let p = problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(p["request_id"], "caller-77");
    for (res, status) in [
        (anon.get("/api/no-such-endpoint").await, StatusCode::NOT_FOUND),
        (anon.post("/api/tasks", &json!({})).await, StatusCode::UNAUTHORIZED),
        (app.post("/api/tasks", &json!({"type": "Feature"})).await, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let header = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let p = problem(res, status).await;
        assert_eq!(p["request_id"], header, "{p}");
    }
}

#[tokio::test]
async fn json_logs_give_one_object_a_line_with_the_request_id() {
    // The installed binary, as an operator runs it: its own process, so its log is all its own.
    let app = spawn_app().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data_dir = std::env::temp_dir().join(format!("greenledger-json-log-{port}"));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .arg("serve")
        .env("DATABASE_URL", app.database_url())
        .env("GREENLEDGER_ADDR", format!("127.0.0.1:{port}"))
        .env("GREENLEDGER_DATA_DIR", &data_dir)
        .env("GREENLEDGER_LOG_FORMAT", "json")
        .env("RUST_LOG", "greenledger=info")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/api/health/live")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the service answers");
    let task = format!("{base}/api/tasks/{}", uuid::Uuid::new_v4());
    let res = client.get(&task).header("x-request-id", "json-line-1").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let ours: Vec<&Value> = lines.iter().filter(|l| l["span"]["id"] == "json-line-1").collect();
    assert_eq!(ours.len(), 1, "one line for the request: {text}");
    let line = ours[0];
    assert_eq!(line["fields"]["message"], "answered");
    assert_eq!(line["fields"]["status"], 404);
    assert_eq!(line["span"]["route"], "/api/tasks/{id}");
    assert_eq!(line["span"]["method"], "GET");
    assert!(line["timestamp"].is_string() && line["level"] == "INFO", "{line}");
}
