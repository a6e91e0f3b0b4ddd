//! Two service instances behind Debian's nginx, a PostgreSQL primary and its streaming replica,
//! as `scripts/cluster.sh up` starts them (`scripts/cluster-test.sh` runs these, in name order,
//! one at a time: the last ones stop the primary and promote the replica). Ignored in the plain
//! run, which has no cluster.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::helpers::*;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these through scripts/cluster-test.sh"))
}

/// The balancer, instance A, instance B.
fn cluster() -> (Caller, Caller, Caller) {
    let at = |base: String| Caller { base, client: english_client(), cookie: None };
    (at(env("GREENLEDGER_CLUSTER_URL")), at(env("GREENLEDGER_CLUSTER_A")), at(env("GREENLEDGER_CLUSTER_B")))
}

fn cluster_sh(what: &str) {
    let out = Command::new("scripts/cluster.sh").arg(what).output().unwrap();
    assert!(out.status.success(), "cluster.sh {what}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Logs in through one instance (or the balancer), as `TestApp::login` does.
async fn login_at(at: &Caller, username: &str) -> Caller {
    let res = at.client.post(at.url("/api/session")).json(&json!({"username": username, "password": PASSWORD}));
    let res = res.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "login as {username} at {}", at.base);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    Caller { cookie: Some(cookie), ..at.clone() }
}

/// `caller` keeping the cookies an answer set (the session, and `gl_wrote` after a write), as a
/// browser does.
fn keeping_cookies(caller: &Caller, res: &reqwest::Response) -> Caller {
    let mut jar: Vec<String> = caller.cookie.iter().flat_map(|c| c.split("; ")).map(str::to_owned).collect();
    for set in res.headers().get_all(header::SET_COOKIE) {
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let name = pair.split('=').next().unwrap().to_owned();
        jar.retain(|c| !c.starts_with(&format!("{name}=")));
        jar.push(pair);
    }
    Caller { cookie: Some(jar.join("; ")), ..caller.clone() }
}

/// A task of the township's that takes reports, with its ETag.
async fn open_task(officer: &Caller, township: &str) -> (String, String) {
    let list: Value = officer
        .get(&format!("/api/tasks?township={township}&status=planned,in_progress&limit=1"))
        .await
        .json()
        .await
        .unwrap();
    let id = list["features"][0]["id"].as_str().expect("an open task in the demo township").to_owned();
    let res = officer.get(&format!("/api/tasks/{id}")).await;
    (id, res.headers()[header::ETAG].to_str().unwrap().to_owned())
}

fn upstream(res: &reqwest::Response) -> String {
    res.headers().get("x-upstream").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs scripts/cluster.sh up"]
async fn a_session_made_through_one_instance_acts_through_the_other() {
    let (balancer, a, b) = cluster();
    let bureau = login_at(&a, "bureau").await;
    let on_b = Caller { base: b.base.clone(), ..bureau.clone() };
    let me: Value = on_b.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["username"], "bureau", "{me}");
    let res = on_b.post("/api/tasks", &task_at(point(119.95, 30.80), json!({"title": "集群测试任务"}))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Through the balancer, requests reach both instances.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        seen.insert(upstream(&balancer.get("/api/health").await));
    }
    assert_eq!(seen.len(), 2, "nginx balances between the two: {seen:?}");
}

#[tokio::test]
#[ignore = "needs scripts/cluster.sh up"]
async fn failed_logins_spread_over_both_instances_count_together() {
    let (_, a, b) = cluster();
    for i in 0..5 {
        let at = if i % 2 == 0 { &a } else { &b };
        let res = at
            .client
            .post(at.url("/api/session"))
            .json(&json!({"username": "township-330599401", "password": "wrong-password-1"}));
        assert_eq!(res.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    for at in [&a, &b] {
        let res = at
            .client
            .post(at.url("/api/session"))
            .json(&json!({"username": "township-330599401", "password": PASSWORD}));
        let res = res.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "the sixth attempt, at {}, is refused", at.base);
        assert!(res.headers().contains_key(header::RETRY_AFTER));
    }
}

#[tokio::test]
#[ignore = "needs scripts/cluster.sh up"]
async fn a_photo_sent_through_one_instance_is_served_by_the_other_and_the_author_sees_the_report_at_once() {
    let (balancer, a, b) = cluster();
    let officer = login_at(&a, "township-330599101").await;
    let (id, etag) = open_task(&officer, "330599101").await;
    let photo = jpeg(91, 40_000);
    let res = officer
        .report(
            &id,
            &etag,
            &new_key(),
            &[("progress", "55"), ("note", "集群：照片经实例 A 上传")],
            &[("p.jpg", photo.clone())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();
    let url = report["photos"][0]["url"].as_str().expect("the report's photo").to_owned();
    let on_b = Caller { base: b.base.clone(), ..officer.clone() };
    let res = on_b.get(&url).await;
    assert_eq!(res.status(), StatusCode::OK, "instance B serves the photo A stored");
    assert_eq!(res.bytes().await.unwrap().to_vec(), photo);

    // Through the balancer, each read right after the write sees it, whichever instance answers.
    let officer = login_at(&balancer, "township-330599101").await;
    let (id, etag) = open_task(&officer, "330599101").await;
    let res = officer.report(&id, &etag, &new_key(), &[("progress", "60"), ("note", "集群：读己之写")], &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let officer = keeping_cookies(&officer, &res);
    assert!(officer.cookie.as_deref().unwrap().contains("gl_wrote=1"), "the write marks the caller");
    for _ in 0..4 {
        let list: Value = officer.get("/api/tasks?township=330599101&limit=500").await.json().await.unwrap();
        let task = list["features"].as_array().unwrap().iter().find(|f| f["id"] == id.as_str()).unwrap().clone();
        assert_eq!(task["properties"]["progress"], 60, "the list read right after the report shows it");
        let reports: Value = officer.get(&format!("/api/tasks/{id}/reports")).await.json().await.unwrap();
        assert!(reports.to_string().contains("集群：读己之写"));
    }
}

#[tokio::test]
#[ignore = "needs scripts/cluster.sh up"]
async fn public_reads_come_from_the_replica() {
    let (balancer, a, _) = cluster();
    let metrics = a.get("/metrics").await.text().await.unwrap();
    let port = env("GREENLEDGER_CLUSTER_REPLICA").split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
    assert!(
        metrics.contains(&format!("greenledger_replica_in_read_pool{{replica=\"127.0.0.1:{port}\"}} 1")),
        "{metrics}"
    );
    assert!(metrics.contains("greenledger_primary_up 1"));
    // The replica's own statistics: its scans of tasks grow with public reads, the primary's need not.
    let replica = env("GREENLEDGER_CLUSTER_REPLICA");
    let scans = || async {
        let mut c = PgConnection::connect(&replica).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::bigint FROM pg_stat_user_tables WHERE relname = 'tasks'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    };
    let before = scans().await;
    for _ in 0..10 {
        assert_eq!(balancer.get("/api/tasks?limit=5").await.status(), StatusCode::OK);
    }
    // The statistics collector reports at most every 500 ms on an idle backend.
    let deadline = Instant::now() + Duration::from_secs(10);
    while scans().await <= before {
        assert!(Instant::now() < deadline, "no read reached the replica");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The primary stopped: the public map and tiles answer from the replica, a write answers 503
/// "read-only for now" and stores nothing; started again, writes resume without a restart.
#[tokio::test]
#[ignore = "needs scripts/cluster.sh up"]
async fn z1_without_the_primary_reads_go_on_and_writes_wait() {
    let (balancer, a, _) = cluster();
    let bureau = login_at(&balancer, "bureau").await;
    let primary = env("GREENLEDGER_CLUSTER_PRIMARY");
    let count = || async {
        let mut c = PgConnection::connect(&primary).await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tasks").fetch_one(&mut c).await.unwrap()
    };
    let tasks_before = count().await;
    cluster_sh("stop-primary");
    // Each instance notices within a second or two.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(a.get("/metrics").await.text().await.unwrap().contains("greenledger_primary_up 0"));
    for path in [
        "/api/tasks?limit=10",
        "/tiles/tasks/10/857/418.mvt",
        "/api/townships",
        "/api/categories",
        "/api/rollups/townships",
        "/ogc/collections/tasks/items?limit=3",
    ] {
        for _ in 0..2 {
            let res = balancer.get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path} through {} with the primary down", upstream(&res));
        }
    }
    let key = new_key();
    let create = |key: String| {
        let bureau = bureau.clone();
        async move {
            bureau
                .request(Method::POST, "/api/tasks")
                .header("idempotency-key", key)
                .json(&task_at(point(119.96, 30.81), json!({"title": "主库停机时的新任务"})))
                .send()
                .await
                .unwrap()
        }
    };
    let res = create(key.clone()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    let body: Value = res.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("read-only for now"), "{body}");

    cluster_sh("start-primary");
    let deadline = Instant::now() + Duration::from_secs(20);
    let res = loop {
        let res = create(key.clone()).await;
        if res.status() != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(res.status(), StatusCode::CREATED, "writes resume without restarting the service");
    assert_eq!(count().await, tasks_before + 1, "the refused write stored nothing; the retry stored one");
}

/// The primary gone for good, the operator promotes the replica: the instances follow it.
#[tokio::test]
#[ignore = "needs scripts/cluster.sh up"]
async fn z2_a_promoted_replica_takes_the_writes_without_a_restart() {
    let (balancer, _, _) = cluster();
    cluster_sh("stop-primary");
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster_sh("promote");
    let replica = env("GREENLEDGER_CLUSTER_REPLICA");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = balancer
            .client
            .post(balancer.url("/api/session"))
            .json(&json!({"username": "bureau", "password": PASSWORD}));
        let status = res.send().await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "no login on the promoted replica within 30 s ({status})");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let bureau = login_at(&balancer, "bureau").await;
    let res = bureau.post("/api/tasks", &task_at(point(119.97, 30.82), json!({"title": "新主库上的任务"}))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut c = PgConnection::connect(&replica).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE title = '新主库上的任务'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 1, "the write went to the promoted server");
}
