//! The controls an assessor checks from outside: security headers on every kind of answer, and the
//! password rules as the accounts API applies them.

use crate::helpers::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// One of each: the map page, a module, an API answer, an API error, a missing file.
const PATHS: [&str; 5] = ["/", "/js/app.js", "/api/health", "/api/tasks/not-a-uuid", "/no-such-file.txt"];

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in PATHS {
        let res = app.anonymous().get(path).await;
        let h = res.headers();
        let csp = h.get(header::CONTENT_SECURITY_POLICY).unwrap_or_else(|| panic!("{path}: no CSP")).to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::REFERRER_POLICY], "strict-origin-when-cross-origin", "{path}");
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "{path}: HSTS over plain http");
    }
}

#[tokio::test]
async fn hsts_is_sent_when_a_proxy_says_the_request_came_over_https() {
    let app = spawn_app().await;
    let res =
        app.anonymous().request(Method::GET, "/api/health").header("x-forwarded-proto", "https").send().await.unwrap();
    assert_eq!(res.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000; includeSubDomains");
}

#[tokio::test]
async fn the_policy_allows_no_inline_script_as_the_page_has_none() {
    let app = spawn_app().await;
    let res = app.anonymous().get("/").await;
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    // The combined modules need no import map, the one inline script the modules needed
    // (src/http/headers.rs allows it by its hash when the page is served uncombined).
    assert_eq!(script_src.trim(), "script-src 'self'");
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count() + html.matches("<script type=\"module\" src=").count(),
        "every script is a file"
    );
    assert!(!html.contains(" style=") && !html.contains("<style") && !html.contains(" onclick="));
}

async fn new_user(admin: &Caller, username: &str, password: &str) -> reqwest::Response {
    admin.post("/api/users", &json!({"username": username, "role": "bureau", "password": password})).await
}

#[tokio::test]
async fn common_short_or_name_holding_passwords_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    for (pw, says) in
        [("Password2024!", "commonly used"), ("short-pw-11", "at least 12"), ("i-am-li.na-really", "username")]
    {
        let p = problem(new_user(&admin, "li.na", pw).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(pointers(&p), ["/password"], "{pw}");
        assert!(p.to_string().contains(says), "{pw}: {p}");
    }
    let users: Vec<Value> = admin.get("/api/users").await.json().await.unwrap();
    assert!(users.iter().all(|u| u["username"] != "li.na"));
    assert_eq!(new_user(&admin, "li.na", "river-dredging-permit-7").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_changed_password_may_not_hold_the_username_either() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let created: Value = new_user(&admin, "li.na", "river-dredging-permit-7").await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let res = admin
        .send_json(Method::PATCH, &format!("/api/users/{id}"), None, &json!({"password": "LI.NA-2026-spring"}))
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&p), ["/password"]);
    // The old password still works: nothing was changed.
    let login = app
        .anonymous()
        .post("/api/session", &json!({"username": "li.na", "password": "river-dredging-permit-7"}))
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}
