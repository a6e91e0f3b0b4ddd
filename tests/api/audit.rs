//! The security audit trail and the session controls an assessor checks: what is recorded, with
//! the client's address and user agent; who may read it; that it cannot be rewritten; the idle
//! timeout, a new session id at login and logging an account out everywhere.

use crate::helpers::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

async fn events(admin: &Caller, query: &str) -> Vec<Value> {
    let res = admin.get(&format!("/api/audit{query}")).await;
    assert_eq!(res.status(), StatusCode::OK, "/api/audit{query}");
    res.json::<Vec<Value>>().await.unwrap()
}

/// Logs in as `username` with `password`, from `address` behind the local proxy, as `agent`.
async fn login_from(app: &TestApp, username: &str, password: &str, address: &str, agent: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/session", app.base))
        .header("x-forwarded-for", address)
        .header(header::USER_AGENT, agent)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

fn cookie_of(res: &reqwest::Response) -> String {
    res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

fn as_caller(app: &TestApp, cookie: String) -> Caller {
    Caller { base: app.base.clone(), client: app.client.clone(), cookie: Some(cookie) }
}

async fn who(caller: &Caller) -> Value {
    caller.get("/api/me").await.json::<Value>().await.unwrap()
}

#[tokio::test]
async fn logins_failed_and_throttled_are_recorded_with_the_address_the_proxy_saw() {
    let app = spawn_app().await;
    let ok = login_from(&app, "bureau", PASSWORD, "198.51.100.7", "Mozilla/5.0 (Linux; Android 13) field").await;
    assert_eq!(ok.status(), StatusCode::OK);
    for _ in 0..5 {
        let res = login_from(&app, "township-330599001", "wrong password", "203.0.113.50", "curl/8").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = login_from(&app, "township-330599001", "wrong password", "203.0.113.50", "curl/8").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // A name nobody has is recorded as typed, made safe for a spreadsheet in the CSV.
    login_from(&app, "=HYPERLINK(\"x\")", "whatever", "203.0.113.51", "curl/8").await;

    let admin = app.login("admin").await;
    let logins = events(&admin, "?kind=login&username=bureau").await;
    // The harness logged the bureau in from this machine; the field login came through the proxy.
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0]["address"], "198.51.100.7");
    assert_eq!(logins[0]["user_agent"], "Mozilla/5.0 (Linux; Android 13) field");
    assert_eq!(logins[1]["address"], "127.0.0.1");
    let failed = events(&admin, "?kind=login_failed&username=township-330599001").await;
    assert_eq!(failed.len(), 5);
    assert!(failed.iter().all(|e| e["address"] == "203.0.113.50" && e["subject_username"] == "township-330599001"));
    let throttled = events(&admin, "?kind=login_throttled").await;
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0]["username"], "township-330599001");
    // Newest first, and paged by id.
    let all = events(&admin, "?kind=login,login_failed,login_throttled").await;
    assert!(all.windows(2).all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()));
    let second = events(&admin, &format!("?limit=2&before={}", all[1]["id"])).await;
    assert_eq!(second[0]["id"], all[2]["id"]);

    let csv = admin.get("/api/audit.csv?kind=login_failed").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().contains("security-audit.csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("\u{feff}id,at,kind,username,"), "{text}");
    assert_eq!(text.lines().count(), 1 + 6, "{text}");
    assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "a formula typed as a name is neutralised: {text}");
}

#[tokio::test]
async fn only_administrators_read_the_trail_and_a_bad_filter_is_named() {
    let app = spawn_app().await;
    assert_eq!(app.anonymous().get("/api/audit").await.status(), StatusCode::UNAUTHORIZED);
    for who in ["bureau", "township-330599001"] {
        let caller = app.login(who).await;
        let p = problem(caller.get("/api/audit").await, StatusCode::FORBIDDEN).await;
        assert!(p["detail"].as_str().unwrap().contains("administrator"), "{p}");
        assert_eq!(caller.get("/api/audit.csv").await.status(), StatusCode::FORBIDDEN);
    }
    let admin = app.login("admin").await;
    let p = problem(admin.get("/api/audit?kind=login,teleport&limit=5000").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&p), ["kind", "limit"]);
    assert!(p.to_string().contains("unknown kind 'teleport'"), "{p}");
}

#[tokio::test]
async fn the_trail_cannot_be_changed_or_deleted() {
    let app = spawn_app().await;
    app.login("bureau").await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM security_events").fetch_one(&app.db).await.unwrap();
    assert!(before >= 1);
    for sql in
        ["UPDATE security_events SET address = 'elsewhere'", "DELETE FROM security_events", "TRUNCATE security_events"]
    {
        let err = sqlx::query(sql).execute(&app.db).await.unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM security_events").fetch_one(&app.db).await.unwrap();
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_session_unused_past_the_idle_timeout_ends_and_one_in_use_does_not() {
    let app = spawn_app().await;
    let idle = app.login("township-330599001").await;
    let busy = app.login("bureau").await;
    // Half an hour and a minute ago: past the default idle timeout of 30 minutes.
    sqlx::query(
        "UPDATE sessions s SET last_seen_at = now() - interval '31 minutes' FROM users u
         WHERE u.id = s.user_id AND u.username = 'township-330599001'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE sessions s SET last_seen_at = now() - interval '29 minutes' FROM users u
         WHERE u.id = s.user_id AND u.username = 'bureau'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(who(&idle).await["via"], "anonymous");
    assert_eq!(idle.post("/api/me/tokens", &json!({"name": "x"})).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(who(&busy).await["user"]["username"], "bureau");
    // Being used moved the bureau's session on: it is not idle any more.
    let used: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.username = 'bureau' AND s.last_seen_at > now() - interval '1 minute'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(used, 1);
    let admin = app.login("admin").await;
    let ended = events(&admin, "?kind=session_idle").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["username"], "township-330599001");
}

#[tokio::test]
async fn the_idle_timeout_is_the_administrators_to_set() {
    let app = spawn_app_serving(|c| c.session_idle_minutes = 5).await;
    let officer = app.login("township-330599001").await;
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '6 minutes'").execute(&app.db).await.unwrap();
    assert_eq!(who(&officer).await["via"], "anonymous");
}

#[tokio::test]
async fn logging_in_gives_a_new_session_id_and_ends_the_one_the_browser_held() {
    let app = spawn_app().await;
    let first = app.login("bureau").await;
    let old = first.cookie.clone().unwrap();
    let res = app
        .client
        .post(format!("{}/api/session", app.base))
        .header(header::COOKIE, &old)
        .json(&json!({"username": "bureau", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let new = cookie_of(&res);
    assert_ne!(new, old);
    assert_eq!(who(&first).await["via"], "anonymous", "the session held before login ended");
    assert_eq!(who(&as_caller(&app, new)).await["user"]["username"], "bureau");
}

#[tokio::test]
async fn an_administrator_logs_an_account_out_everywhere() {
    let app = spawn_app().await;
    let phone = app.login("township-330599001").await;
    let desk = app.login("township-330599001").await;
    let other = app.login("township-330599101").await;
    let id = who(&phone).await["user"]["id"].as_str().unwrap().to_owned();
    let bureau = app.login("bureau").await;
    assert_eq!(bureau.post(&format!("/api/users/{id}/logout"), &json!({})).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(who(&phone).await["via"], "session", "a refused request ends nothing");

    let admin = app.login("admin").await;
    let res = admin.post(&format!("/api/users/{id}/logout"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["sessions"], 2);
    assert_eq!(who(&phone).await["via"], "anonymous");
    assert_eq!(who(&desk).await["via"], "anonymous");
    assert_eq!(who(&other).await["via"], "session", "other accounts keep their sessions");
    let unknown = admin.post("/api/users/00000000-0000-0000-0000-00000000abcd/logout", &json!({})).await;
    problem(unknown, StatusCode::NOT_FOUND).await;

    let e = &events(&admin, "?kind=logout_everywhere").await[0];
    assert_eq!((e["username"].as_str(), e["subject_username"].as_str()), (Some("admin"), Some("township-330599001")));
    assert_eq!(e["detail"]["sessions"], 2);
}

#[tokio::test]
async fn password_token_account_and_contact_export_events_are_recorded_without_secrets() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let created = admin
        .post("/api/users", &json!({"username": "clerk2", "role": "bureau", "password": "a temporary one 2026"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let changed = admin
        .request(Method::PATCH, &format!("/api/users/{id}"))
        .json(&json!({"display_name": "二号文员", "password": "another temporary 2027"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);

    let officer = app.login("township-330599001").await;
    let token = officer.post("/api/me/tokens", &json!({"name": "QGIS"})).await.json::<Value>().await.unwrap();
    let revoke = officer.request(Method::DELETE, &format!("/api/me/tokens/{}", token["id"].as_str().unwrap()));
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let pw = officer
        .post("/api/me/password", &json!({"current_password": PASSWORD, "new_password": "my own field password"}))
        .await;
    assert_eq!(pw.status(), StatusCode::OK);
    assert_eq!(officer.get("/api/export/tasks.csv").await.status(), StatusCode::OK);
    assert_eq!(app.anonymous().get("/api/export/tasks.csv").await.status(), StatusCode::OK);
    assert_eq!(app.login("bureau").await.get("/api/export/ledger.xlsx").await.status(), StatusCode::OK);

    let kinds = "account_created,account_changed,token_created,token_revoked,password_changed,contact_export";
    let trail = events(&admin, &format!("?kind={kinds}")).await;
    let of = |kind: &str| trail.iter().filter(|e| e["kind"] == kind).collect::<Vec<_>>();
    assert_eq!(of("account_created")[0]["subject_username"], "clerk2");
    assert_eq!(of("account_changed")[0]["detail"]["fields"], json!(["display_name", "password"]));
    assert_eq!(of("token_created")[0]["detail"]["name"], "QGIS");
    assert_eq!(of("token_revoked")[0]["detail"]["token"], token["id"]);
    assert_eq!(of("password_changed")[0]["username"], "township-330599001");
    let exports = of("contact_export");
    assert_eq!(exports.len(), 2, "the anonymous export holds no contact details: {exports:?}");
    assert!(exports.iter().any(|e| e["username"] == "bureau" && e["detail"]["export"] == "ledger.xlsx"));
    assert!(exports.iter().any(|e| e["username"] == "township-330599001"
        && e["detail"]["export"] == "tasks.csv"
        && e["detail"]["scope"] == "township 330599001"));
    let text = serde_json::to_string(&trail).unwrap();
    for secret in ["a temporary one 2026", "another temporary 2027", "my own field password", "glt_"] {
        assert!(!text.contains(secret), "the trail holds {secret}");
    }
}
