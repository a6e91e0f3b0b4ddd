//! Request ids: every answer carries one, a caller's sane id is kept and a bogus one replaced, and
//! each log line of a request names its id and its route (the pattern, not the path with ids).

use crate::helpers::*;
use greenledger::store::DbConfig;
use reqwest::{Method, Response, StatusCode};

fn request_id(res: &Response) -> String {
    res.headers().get("x-request-id").expect("an X-Request-Id header").to_str().unwrap().to_owned()
}

fn is_fresh(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

#[tokio::test]
async fn every_answer_carries_its_own_request_id() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    let first = request_id(&anon.get("/api/health").await);
    let second = request_id(&anon.get("/api/health").await);
    assert!(is_fresh(&first) && is_fresh(&second), "{first} {second}");
    assert_ne!(first, second);
    // Refusals, the web folder's files and unknown paths too.
    for (path, status) in [
        ("/api/tasks/not-a-uuid", StatusCode::BAD_REQUEST),
        ("/api/no-such-endpoint", StatusCode::NOT_FOUND),
        ("/index.html", StatusCode::OK),
        ("/no-such-file.js", StatusCode::NOT_FOUND),
    ] {
        let res = anon.get(path).await;
        assert_eq!(res.status(), status, "{path}");
        assert!(is_fresh(&request_id(&res)), "{path}");
    }
}

#[tokio::test]
async fn a_callers_request_id_is_echoed_and_a_bogus_one_replaced() {
    let app = spawn_app().await;
    let with_id = |id: String| app.anonymous().request(Method::GET, "/api/tasks").header("x-request-id", id).send();
    let res = with_id("gateway-7f3a.01".into()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(request_id(&res), "gateway-7f3a.01");
    for bogus in ["x".repeat(65), "two words".into(), "<script>".into(), "a\"b".into()] {
        let got = request_id(&with_id(bogus.clone()).await.unwrap());
        assert_ne!(got, bogus);
        assert!(is_fresh(&got), "{bogus:?} became {got:?}");
    }
}

// tracing decides once per call site whether anyone listens; with a hundred tests registering call
// sites on other threads, a thread-local subscriber can miss lines for reasons of the harness, not of
// the service. So this test reads the log alone, after the others (scripts/test.sh).
#[tokio::test]
#[ignore = "reads the process's log: scripts/test.sh runs it alone"]
async fn the_log_lines_of_a_request_carry_its_id_route_status_and_latency() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    // The test's runtime has one thread, so the service's tasks log through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    // An unreachable database makes the handlers and the error mapping log inside the request.
    let config = DbConfig { db_timeout_secs: 1, ..DbConfig::new("postgres://postgres@127.0.0.1:1/none") };
    let app = spawn_with(config, String::new()).await;
    let task = uuid::Uuid::new_v4().to_string();
    for (path, id) in [("/api/health".to_owned(), "trace-health"), (format!("/api/tasks/{task}"), "trace-task")] {
        let res = app.request(Method::GET, &path).header("x-request-id", id).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(request_id(&res), id);
    }

    let health = log.lines_with("id=trace-health");
    assert!(health.iter().any(|l| l.contains("database unreachable")), "{health:#?}");
    assert!(health.iter().all(|l| l.contains("method=GET") && l.contains("route=/api/health")), "{health:#?}");
    let task_lines = log.lines_with("id=trace-task");
    assert!(task_lines.len() >= 2, "the error and the answer: {task_lines:#?}");
    assert!(task_lines.iter().all(|l| l.contains("route=/api/tasks/{id}")), "{task_lines:#?}");
    let answered = task_lines.iter().find(|l| l.contains("answered")).expect("a closing line");
    assert!(answered.contains("status=503") && answered.contains("latency="), "{answered}");
    assert!(log.lines_with(&task).is_empty(), "the task's id is not logged as part of a path");
}
