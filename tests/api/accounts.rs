//! Logging in, sessions, API tokens, CSRF, login throttling, and the administrator's accounts and
//! townships.

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

async fn login_raw(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Checks that "who am I" answered a caller nobody is logged in as: 200, no user.
async fn anonymous(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me, json!({"user": null, "via": "anonymous"}));
}

#[tokio::test]
async fn logging_in_sets_a_safe_session_cookie_and_me_says_who() {
    let app = spawn_app().await;
    let res = login_raw(&app, "township-330599101", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("gl_session="));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "plain http on loopback");
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["user"]["role"], "township");
    assert_eq!(me["user"]["township"], MIDDLE);

    let township = app.login("township-330599101").await;
    let me: Value = township.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["username"], "township-330599101");
    assert_eq!(me["via"], "session");
    anonymous(app.anonymous().get("/api/me").await).await;
}

#[tokio::test]
async fn the_cookie_is_secure_behind_https() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/session"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "bureau", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.headers()[header::SET_COOKIE].to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_answer_alike() {
    let app = spawn_app().await;
    let mut wrong = problem(login_raw(&app, "bureau", "not-the-password").await, StatusCode::UNAUTHORIZED).await;
    let mut unknown = problem(login_raw(&app, "nobody-here", "not-the-password").await, StatusCode::UNAUTHORIZED).await;
    // Each answer names its own request; everything else must be the same.
    assert_ne!(wrong["request_id"], unknown["request_id"]);
    wrong["request_id"].take();
    unknown["request_id"].take();
    assert_eq!(wrong, unknown);
    let p = problem(
        app.client.post(app.url("/api/session")).json(&json!({"username": "bureau"})).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/password"]);
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_retry_after() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(login_raw(&app, "admin", "guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_raw(&app, "admin", PASSWORD).await;
    let retry: u64 = res.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let p = problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(p["detail"].as_str().unwrap().contains("too many failed logins"));
    // Another account is not locked by guesses at this one.
    assert_eq!(login_raw(&app, "bureau", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn instances_of_the_service_share_the_count_of_failed_logins() {
    let a = spawn_app().await;
    // A second instance over the same database, as behind a load balancer.
    let b = spawn_with(greenledger::store::DbConfig::new(url_for(&a.db_name).as_str()), String::new()).await;
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(login_raw(app, "admin", "guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    for app in [&a, &b] {
        let res = login_raw(app, "admin", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "five guesses over two instances lock the account");
    }
    // The right password on either instance, for an account not locked, clears only its own count.
    assert_eq!(login_raw(&b, "bureau", PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(login_raw(&a, "admin", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn logging_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let res = bureau.request(reqwest::Method::DELETE, "/api/session").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.headers()[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    // The old cookie, replayed, no longer works.
    anonymous(bureau.get("/api/me").await).await;
    problem(bureau.post("/api/tasks", &task_at(point(119.95, 30.85), json!({}))).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_expired_session_is_anonymous() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second'").execute(&app.db).await.unwrap();
    anonymous(bureau.get("/api/me").await).await;
}

#[tokio::test]
async fn cookie_authenticated_changes_must_come_from_our_own_origin() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let cookie = bureau.cookie.clone().unwrap();
    let body = task_at(point(119.95, 30.85), json!({})).to_string();
    let send = |origin: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/api/tasks"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/geo+json")
            .body(body.clone());
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        req.send()
    };
    let p = problem(send(Some("http://evil.example")).await.unwrap(), StatusCode::FORBIDDEN).await;
    assert!(p["detail"].as_str().unwrap().contains("cross-site"));
    problem(send(None).await.unwrap(), StatusCode::FORBIDDEN).await;
    assert_eq!(app.task_count().await, 0);
    assert_eq!(send(Some(&app.base)).await.unwrap().status(), StatusCode::CREATED);
    // Reads need no Origin.
    let res = app.client.get(app.url("/api/me")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn api_tokens_work_without_cookies_and_stop_when_revoked() {
    let app = spawn_app().await;
    let res = app.post("/api/me/tokens", &json!({"name": "QGIS 笔记本"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token: Value = res.json().await.unwrap();
    let secret = token["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("glt_"));

    let with_token = |method: reqwest::Method, path: &str| {
        app.client.request(method, app.url(path)).header(header::AUTHORIZATION, format!("Bearer {secret}"))
    };
    let me: Value = with_token(reqwest::Method::GET, "/api/me").send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["username"], "bureau");
    assert_eq!(me["via"], "token");
    // Scripts send no Origin, and need none.
    let res = with_token(reqwest::Method::POST, "/api/tasks")
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(task_at(point(119.95, 30.85), json!({})).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let listed: Vec<Value> = app.get("/api/me/tokens").await.json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("secret").is_none(), "the secret is shown once only");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(&app.db).await.unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&secret[4..]), "only a hash is stored");

    let res = app
        .request(reqwest::Method::DELETE, &format!("/api/me/tokens/{}", token["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let p = problem(with_token(reqwest::Method::GET, "/api/me").send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"));
    // A malformed Authorization header is refused rather than read as anonymous.
    let res =
        app.client.get(app.url("/api/tasks")).header(header::AUTHORIZATION, "Basic YWRtaW46eA==").send().await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn one_cannot_revoke_someone_elses_token() {
    let app = spawn_app().await;
    let token: Value = app.post("/api/me/tokens", &json!({"name": "脚本"})).await.json().await.unwrap();
    let admin = app.login("admin").await;
    let res = admin
        .request(reqwest::Method::DELETE, &format!("/api/me/tokens/{}", token["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn an_administrator_manages_accounts() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let res = admin
        .post("/api/users", &json!({"username": "zhang.wei", "display_name": "张伟", "role": "township", "township": EAST, "password": "a long password"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["township"], EAST);
    assert_eq!(created["active"], true);
    let id = created["id"].as_str().unwrap().to_owned();

    let p = problem(
        admin
            .post("/api/users", &json!({"username": "zhang.wei", "role": "bureau", "password": "a long password"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("taken"));
    let p = problem(
        admin
            .post(
                "/api/users",
                &json!({"username": "li", "role": "township", "township": "999999999", "password": "a long password"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/township"]);

    let zhang = app
        .client
        .post(app.url("/api/session"))
        .json(&json!({"username": "zhang.wei", "password": "a long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(zhang.status(), StatusCode::OK);
    let cookie = zhang.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();

    // Deactivating ends the session at once.
    let res = admin
        .request(reqwest::Method::PATCH, &format!("/api/users/{id}"))
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    anonymous(app.client.get(app.url("/api/me")).header(header::COOKIE, &cookie).send().await.unwrap()).await;
    assert_eq!(
        app.client
            .post(app.url("/api/session"))
            .json(&json!({"username": "zhang.wei", "password": "a long password"}))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let users: Vec<Value> = admin.get("/api/users").await.json().await.unwrap();
    assert!(users.iter().all(|u| u.get("password_hash").is_none()));
    assert!(users.iter().any(|u| u["username"] == "zhang.wei" && u["active"] == false));
}

#[tokio::test]
async fn moving_a_township_border_moves_its_tasks_except_overrides() {
    let app = spawn_app().await;
    let (moved, _, _) = app.create(&task_at(point(119.98, 30.8), json!({}))).await;
    let (kept, _, _) = app.create(&task_at(point(119.97, 30.8), json!({"township": MIDDLE}))).await;
    let admin = app.login("admin").await;
    // EAST grows westwards to 119.96 (overlapping MIDDLE for a moment: ties go to the lower code,
    // so nothing moves yet); then MIDDLE shrinks to match, and its task east of 119.96 moves.
    let strip = |w: f64, e: f64| json!({"type": "Polygon", "coordinates": [[[w, SOUTH], [e, SOUTH], [e, NORTH], [w, NORTH], [w, SOUTH]]]});
    let feature = |name: &str, kind: &str, g: Value| json!({"type": "Feature", "properties": {"name": name, "kind": kind}, "geometry": g});
    let put = |code: &str, body: Value| {
        admin.request(reqwest::Method::PUT, &format!("/api/townships/{code}")).json(&body).send()
    };
    let res = put(EAST, feature("清源经济开发区", "development_zone", strip(119.96, 120.1))).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["tasks_reassigned"], 0);
    let res = put(MIDDLE, feature("青溪镇", "town", strip(119.9, 119.96))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["tasks_reassigned"], 1);
    let t: Value = app.get(&format!("/api/tasks/{moved}")).await.json().await.unwrap();
    assert_eq!(t["properties"]["township"], EAST);
    let t: Value = app.get(&format!("/api/tasks/{kept}")).await.json().await.unwrap();
    assert_eq!(t["properties"]["township"], MIDDLE, "a bureau override stays");
    let history: Vec<Value> = app.get(&format!("/api/tasks/{moved}/history")).await.json().await.unwrap();
    assert_eq!(history.last().unwrap()["changes"]["township"], json!({"before": MIDDLE, "after": EAST}));

    // Shrinking the county so a task falls outside every township is refused.
    let res = put(EAST, feature("清源经济开发区", "development_zone", strip(120.05, 120.1))).await.unwrap();
    let p = problem(res, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("1 task(s) would lie in no township"), "{p}");
    let res = put(
        EAST,
        json!({"type": "Feature", "properties": {"name": "x", "kind": "town"}, "geometry": point(120.0, 30.8)}),
    )
    .await
    .unwrap();
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let t: Value = app.get(&format!("/api/tasks/{moved}")).await.json().await.unwrap();
    assert_eq!(t["properties"]["township"], EAST, "a refused change changes nothing");
}

#[tokio::test]
async fn the_command_line_creates_an_account_that_can_log_in() {
    let app = spawn_app().await;
    let url: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&app.db).await.unwrap();
    let server = std::env::var("GREENLEDGER_TEST_DB").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args([
            "user",
            "add",
            "--username",
            "wang.fang",
            "--role",
            "township",
            "--township",
            WEST,
            "--display-name",
            "王芳",
        ])
        .env("DATABASE_URL", format!("{}/{url}", server.trim_end_matches('/')))
        .env("GREENLEDGER_USER_PASSWORD", "field officer pw")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let res = login_raw(&app, "wang.fang", "field officer pw").await;
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["user"]["township"], WEST);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(["user", "add", "--username", "w2", "--role", "township"])
        .env("DATABASE_URL", format!("{}/{url}", server.trim_end_matches('/')))
        .env("GREENLEDGER_USER_PASSWORD", "field officer pw")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("township officer needs a township"));
}
