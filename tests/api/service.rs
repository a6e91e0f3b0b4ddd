//! The service as a whole: health, the API description, reference data, unknown routes.

use crate::helpers::*;
use greenledger::store::DbConfig;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;

#[tokio::test]
async fn health_reports_the_database_and_postgis() {
    let app = spawn_app().await;
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert!(body["postgis"].as_str().unwrap().starts_with('3'), "{body}");
}

#[tokio::test]
async fn health_is_503_when_the_database_is_unreachable() {
    // Nothing listens on port 1; the service must still start and say what is wrong.
    let config = DbConfig { db_timeout_secs: 1, ..DbConfig::new("postgres://postgres@127.0.0.1:1/none") };
    let app = spawn_with(config, String::new()).await;
    let p = problem(app.get("/api/health").await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(p["detail"].as_str().unwrap().contains("database"), "{p}");
    // Other endpoints fail the same way, not with a 500.
    problem(app.get("/api/tasks").await, StatusCode::SERVICE_UNAVAILABLE).await;
}

#[tokio::test]
async fn the_openapi_description_covers_every_endpoint() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/health", &["get"][..]),
        ("/api/health/live", &["get"]),
        ("/api/health/ready", &["get"]),
        ("/api/townships", &["get"]),
        ("/api/categories", &["get"]),
        ("/api/tasks", &["get", "post"]),
        ("/api/tasks/{id}", &["get", "patch"]),
    ] {
        for m in methods {
            assert!(paths[path][m].is_object(), "{m} {path} is described");
        }
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn townships_come_as_features_with_code_name_kind_and_area() {
    let app = spawn_app().await;
    let res = app.get("/api/townships").await;
    assert_eq!(res.headers()["content-type"], "application/geo+json");
    let body: Value = res.json().await.unwrap();
    let features = body["features"].as_array().unwrap();
    assert_eq!(features.len(), 3);
    let middle = features.iter().find(|f| f["properties"]["code"] == MIDDLE).unwrap();
    assert_eq!(middle["properties"]["name"], "青溪镇");
    assert_eq!(middle["properties"]["kind"], "town");
    assert_eq!(middle["geometry"]["type"], "MultiPolygon");
    // 0.1° × 0.3° at 30.85°N: about 9.56 km × 33.3 km.
    let area = middle["properties"]["area_km2"].as_f64().unwrap();
    assert!((310.0..330.0).contains(&area), "{area}");
}

#[tokio::test]
async fn categories_are_the_four_families() {
    let app = spawn_app().await;
    let body: Value = app.get("/api/categories").await.json().await.unwrap();
    let codes: Vec<&str> = body.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["watershed", "chemical", "energy", "village"]);
    assert_eq!(body[0]["name_zh"], "重点流域水环境整治");
    assert_eq!(body[0]["prefix"], "WS");
}

#[tokio::test]
async fn a_new_category_added_as_data_is_usable_at_once() {
    let app = spawn_app().await;
    sqlx::query("INSERT INTO categories (code, prefix, name_zh, name_en, color) VALUES ('ecology', 'ECO', '生态修复', 'Ecological restoration', '#8c510a')")
        .execute(&app.db)
        .await
        .unwrap();
    let (_, _, body) = app.create(&task_at(point(119.95, 30.8), serde_json::json!({"category": "ecology"}))).await;
    assert!(body["properties"]["code"].as_str().unwrap().starts_with("ECO-"));
}

#[tokio::test]
async fn unknown_endpoints_and_methods_answer_in_the_same_format() {
    let app = spawn_app().await;
    problem(app.get("/api/nothing-here").await, StatusCode::NOT_FOUND).await;
    let res = app.client.delete(app.url("/api/tasks")).send().await.unwrap();
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
}

/// Requests the client gives up on while their transaction opens (a map cancelling tiles and the
/// league table as it moves, a page closed while a draft assessment is read) leave no pooled
/// connection inside a transaction. Such a connection is found before anything else uses it: the
/// next transaction on it would close it unseen, but a write outside one would be refused (a
/// read-only snapshot) and every request after that on it fail.
#[tokio::test]
async fn requests_dropped_mid_flight_leave_no_connection_inside_a_transaction() {
    let app = spawn_app().await;
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&app.db).await.unwrap();
    let stuck = async || -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'",
        )
        .bind(&db)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    let year = chrono::Utc::now().format("%Y");
    let draft = format!("/api/campaigns/none/years/{year}/assessment?version=draft");
    // Each opens a transaction of its own kind: an interactive read, the rollups' snapshot shared
    // by two connections, the draft's repeatable read.
    let paths = ["/api/tasks?limit=50", "/api/rollups/townships", "/api/rollups/departments", &draft];
    for path in paths {
        let url = format!("{}{path}", app.base);
        // Given up on at every point of the request's course, in steps of a hundredth of how long
        // it takes when waited for, so some land while BEGIN is on its way.
        let mut took = Vec::new();
        for _ in 0..5 {
            let started = std::time::Instant::now();
            let _ = app.client.get(&url).send().await.unwrap().bytes().await;
            took.push(started.elapsed());
        }
        took.sort();
        for step in 1..=120u32 {
            let _ = app.client.get(&url).timeout(took[2] * step / 100).send().await;
            // The dropped request's connection goes back to the pool on a task of sqlx's own.
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            assert_eq!(stuck().await, 0, "{path} given up on at {step}% left a connection inside a transaction");
        }
    }
    for _ in 0..40 {
        assert_eq!(app.get("/api/me").await.status(), reqwest::StatusCode::OK);
        assert_eq!(app.get("/api/tasks?limit=5").await.status(), reqwest::StatusCode::OK);
    }
}

/// A database that takes no writes (a hot standby, or one set read-only for maintenance): reading
/// goes on, for the public and for staff (their last-used marks are skipped); every change answers
/// 503 saying the ledger is read-only for now, with Retry-After, and nothing is written.
#[tokio::test]
async fn on_a_read_only_database_reads_go_on_and_changes_answer_503_saying_so() {
    let app = spawn_app().await;
    let (id, _, _) = app.create(&task_at(point(119.85, 30.8), serde_json::json!({}))).await;
    let tasks = app.task_count().await;
    // The bureau's session was last marked long enough ago that reading it wants a new mark.
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '5 minutes'").execute(&app.db).await.unwrap();
    // Every connection of this second instance is read-only, as on a standby.
    let url = format!("{}?options=-c%20default_transaction_read_only%3Don", url_for(&app.db_name));
    let standby = spawn_with(DbConfig::new(url.as_str()), String::new()).await;

    let anonymous = standby.anonymous();
    assert_eq!(anonymous.get("/api/tasks").await.status(), StatusCode::OK);
    assert_eq!(anonymous.get(&format!("/api/tasks/{id}")).await.status(), StatusCode::OK);
    let bureau = Caller { base: standby.base.clone(), ..app.bureau.clone() };
    let me = bureau.get("/api/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["user"]["username"], "bureau", "staff read on a standby: {me}");

    let res = bureau.post("/api/tasks", &task_at(point(119.86, 30.8), serde_json::json!({}))).await;
    assert_eq!(res.headers()[reqwest::header::RETRY_AFTER], "30");
    let p = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(p["detail"].as_str().unwrap().contains("read-only for now"), "{p}");
    assert_eq!(app.task_count().await, tasks, "nothing was written");
}

/// Terminates every backend the service holds, as a restarted database server would.
async fn terminate_service_backends(app: &TestApp) -> usize {
    let mut admin = sqlx::PgConnection::connect(&url_for("postgres")).await.unwrap();
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'greenledger' AND pid <> pg_backend_pid()",
    )
    .bind(&app.db_name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    for pid in &pids {
        sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut admin).await.unwrap();
    }
    pids.len()
}

/// The connections kept for one-statement reads plan their statements once; the pool's other
/// connections never carry that, neither when more reads run at once than are kept, nor after a
/// kept connection's read failed.
#[tokio::test]
async fn only_the_kept_connections_plan_once() {
    use greenledger::store::{DbConfig, Held, held};
    let app = spawn_app().await;
    let mut config = DbConfig::new(app.database_url());
    config.db_connections = 4;
    let pool = config.pool().unwrap();
    let kept = Held::new(pool.clone());
    let mode = async |conn: &mut sqlx::PgConnection| -> Result<String, sqlx::Error> {
        sqlx::query_scalar("SELECT current_setting('plan_cache_mode')").fetch_one(conn).await
    };
    assert_eq!(held::read(&kept, mode).await.unwrap(), "force_generic_plan");
    // Three at once, one kept (a quarter of 4): the other two are ordinary pool connections. Each
    // holds its connection until all three have one (else one might finish before the next starts).
    let all_in = tokio::sync::Barrier::new(3);
    let mode_together = async |conn: &mut sqlx::PgConnection| {
        let m = mode(conn).await;
        all_in.wait().await;
        m
    };
    let (a, b, c) = tokio::join!(
        held::read(&kept, mode_together),
        held::read(&kept, mode_together),
        held::read(&kept, mode_together)
    );
    let mut modes = [a.unwrap(), b.unwrap(), c.unwrap()];
    modes.sort();
    assert_eq!(modes, ["auto", "auto", "force_generic_plan"]);
    assert_eq!(kept.kept(), 1);
    let pool_modes = async || {
        let mut conns = Vec::new();
        for _ in 0..3 {
            conns.push(pool.acquire().await.unwrap());
        }
        let mut modes = Vec::new();
        for c in &mut conns {
            modes.push(mode(c).await.unwrap());
        }
        modes
    };
    assert_eq!(pool_modes().await, ["auto"; 3], "the pool's own connections plan as PostgreSQL chooses");
    // A failed read closes its kept connection; the next one is set up afresh.
    let failed = held::read(&kept, async |conn: &mut sqlx::PgConnection| {
        sqlx::query_scalar::<_, i32>("SELECT 1 / 0").fetch_one(conn).await
    })
    .await;
    assert!(failed.is_err());
    assert_eq!(kept.kept(), 0);
    assert_eq!(pool_modes().await, ["auto"; 3]);
    assert_eq!(held::read(&kept, mode).await.unwrap(), "force_generic_plan");
}

/// The connections kept for one-statement reads (health, a task, a tile) die with their backends: the
/// next answers are 503, never a 500, until a live connection is found, and once
/// one is, no dead one comes back. A server that went away while they sat unused costs no answer.
#[tokio::test]
async fn one_statement_reads_outlive_their_connections_dying() {
    // No tile cache, so every tile is read from the database.
    let app = spawn_app_serving(|s| s.tile_cache_mb = 0).await;
    let (id, _, _) = app.bureau.create(&task_at(point(119.95, 30.8), serde_json::json!({"title": "kept"}))).await;
    let anonymous = app.anonymous();
    // The zoom-15 tile holding the task.
    let tile = "/tiles/tasks/15/27302/13434.mvt".to_owned();
    assert!(!anonymous.get(&tile).await.bytes().await.unwrap().is_empty(), "the tile holds the task");
    for path in ["/api/health".to_owned(), format!("/api/tasks/{id}"), tile] {
        for _ in 0..3 {
            assert_eq!(anonymous.get(&path).await.status(), StatusCode::OK, "{path}");
        }
        assert!(terminate_service_backends(&app).await > 0, "the service holds connections");
        let mut unavailable = 0;
        loop {
            let res = anonymous.get(&path).await;
            if res.status() == StatusCode::OK {
                break;
            }
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
            // A lost connection says when to try again; health reports the database as it finds it.
            if path.starts_with("/api/tasks") {
                assert!(res.headers().contains_key(reqwest::header::RETRY_AFTER), "{path}");
            }
            unavailable += 1;
            assert!(unavailable <= 16, "{path}: still 503 after {unavailable} tries");
        }
        for _ in 0..5 {
            assert_eq!(anonymous.get(&path).await.status(), StatusCode::OK, "{path} after recovering");
        }
        terminate_service_backends(&app).await;
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(anonymous.get(&path).await.status(), StatusCode::OK, "{path}: checked before use after a pause");
    }
}
