//! Two-step verification (两步验证), as a person and an assessor meet it: enrolling with the secret
//! an authenticator app takes, logging in with its codes (each good once), recovery codes (each good
//! once), turning it off, the administrator's policy holding staff until they enrol while API
//! tokens keep working, and the audit trail of all of it. Codes are computed here from the secret
//! the service showed, as a phone would (RFC 6238), not with the service's own code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::helpers::*;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// What an authenticator app holds after scanning.
struct Phone {
    secret: Vec<u8>,
}

impl Phone {
    /// Reads the base32 secret the way an app reads the QR code's URI.
    fn scan(enrolling: &Value) -> Phone {
        let secret = enrolling["secret"].as_str().unwrap();
        let uri = enrolling["uri"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/greenledger:"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=greenledger"), "{uri}");
        Phone { secret: base32_decode(secret) }
    }

    fn code(&self, step: i64) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&self.secret).unwrap();
        mac.update(&(step as u64).to_be_bytes());
        let h = mac.finalize().into_bytes();
        let o = (h[19] & 0xf) as usize;
        let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
        format!("{n:06}")
    }

    /// Six digits that are none of the codes the service accepts now.
    fn wrong_code(&self) -> String {
        let now = now_step();
        let valid: Vec<String> = (now - 2..=now + 2).map(|s| self.code(s)).collect();
        (0..).map(|n| format!("{:06}", 135_790 + n)).find(|c| !valid.contains(c)).unwrap()
    }
}

fn base32_decode(s: &str) -> Vec<u8> {
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes() {
        let v = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".iter().position(|x| *x == c).expect("base32") as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn now_step() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 / 30
}

/// A code the service has not seen yet: the current step's, or the next one's when the current one
/// was used; when that too was used, waits for the next step (a phone's owner would, too).
async fn fresh_code(app: &TestApp, phone: &Phone, username: &str) -> String {
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT f.last_step FROM two_factor f JOIN users u ON u.id = f.user_id WHERE u.username = $1",
    )
    .bind(username)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let mut now = now_step();
    let step = last.map_or(now, |l| now.max(l + 1));
    while step > now + 1 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        now = now_step();
    }
    phone.code(step)
}

async fn login_with(app: &TestApp, username: &str, password: &str, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({"username": username, "password": password});
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    app.client.post(format!("{}/api/session", app.base)).json(&body).send().await.unwrap()
}

fn caller_from(app: &TestApp, res: &reqwest::Response) -> Caller {
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    Caller { base: app.base.clone(), client: app.client.clone(), cookie: Some(cookie) }
}

/// Enrols `caller` (logged in as `username`): starts, confirms with the phone's code; returns the
/// phone and the recovery codes.
async fn enrol(app: &TestApp, caller: &Caller, username: &str) -> (Phone, Vec<String>) {
    let res = caller.post("/api/me/two-factor", &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let phone = Phone::scan(&res.json().await.unwrap());
    let res = caller.post("/api/me/two-factor/confirm", &json!({"code": phone.code(now_step())})).await;
    let body: Value = res.json().await.unwrap();
    assert!(body["recovery_codes"].is_array(), "{username}: {body}");
    let codes = body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    let _ = app;
    (phone, codes)
}

async fn me(caller: &Caller) -> Value {
    caller.get("/api/me").await.json::<Value>().await.unwrap()["user"].clone()
}

async fn events(app: &TestApp, kind: &str) -> Vec<Value> {
    let admin = app.login("admin").await;
    let res = admin.get(&format!("/api/audit?kind={kind}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn enrolling_then_logging_in_takes_the_phones_code_once() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let elsewhere = app.login("bureau").await;
    assert_eq!(me(&bureau).await["two_factor"], false);
    assert_eq!(me(&bureau).await["two_factor_required"], false);

    let res = bureau.post("/api/me/two-factor", &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let phone = Phone::scan(&res.json().await.unwrap());
    assert_eq!(phone.secret.len(), 20);
    // Not on until a code confirms it: the password alone still logs in.
    assert_eq!(login_with(&app, "bureau", PASSWORD, None).await.status(), StatusCode::OK);
    let refused = problem(
        bureau.post("/api/me/two-factor/confirm", &json!({"code": phone.wrong_code()})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&refused), ["/code"]);
    let first = phone.code(now_step());
    let res = bureau.post("/api/me/two-factor/confirm", &json!({"code": first})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Value = res.json().await.unwrap();
    let codes = codes["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.as_str().unwrap().len() == 14 && c.as_str().unwrap().matches('-').count() == 2));
    assert_eq!(me(&bureau).await["two_factor"], true);
    // Sessions opened with the password alone end; the one that enrolled goes on.
    assert_eq!(elsewhere.get("/api/me/tokens").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bureau.get("/api/me/tokens").await.status(), StatusCode::OK);
    // Its secret is not handed out again.
    problem(bureau.post("/api/me/two-factor", &json!({})).await, StatusCode::CONFLICT).await;

    let res = login_with(&app, "bureau", PASSWORD, None).await;
    assert!(res.headers().get(header::SET_COOKIE).is_none(), "no session without the code");
    let body = problem(res, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["type"], "/problems/second-factor-required");
    // A wrong password is still just that, whatever code comes with it.
    let body =
        problem(login_with(&app, "bureau", "not the password", Some("123456")).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["type"], "/problems/wrong-credentials");
    let body =
        problem(login_with(&app, "bureau", PASSWORD, Some(&phone.wrong_code())).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["type"], "/problems/wrong-second-factor");
    assert_eq!(body["code"], "wrong_code", "{body}");
    // The code that confirmed the enrolment was used: it is refused, and says so.
    let body = problem(login_with(&app, "bureau", PASSWORD, Some(&first)).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["type"], "/problems/wrong-second-factor");
    assert!(body["detail"].as_str().unwrap().contains("used already"), "{body}");
    assert_eq!(body["code"], "code_used", "{body}");
    let body =
        problem(login_with(&app, "bureau", PASSWORD, Some("12345")).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/code"]);

    let code = fresh_code(&app, &phone, "bureau").await;
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let res = login_with(&app, "bureau", PASSWORD, Some(&spaced)).await;
    assert_eq!(res.status(), StatusCode::OK, "the code as the app shows it, with a space");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["two_factor"], true);
    // The same code again, at once: refused.
    let body = problem(login_with(&app, "bureau", PASSWORD, Some(&code)).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["type"], "/problems/wrong-second-factor");

    assert_eq!(events(&app, "two_factor_enrolled").await.len(), 1);
    let failed = events(&app, "two_factor_failed").await;
    let during: Vec<&str> = failed.iter().map(|e| e["detail"]["during"].as_str().unwrap()).collect();
    assert_eq!(during, ["login", "login", "login", "enrolment"], "newest first");
    assert!(failed.iter().all(|e| e["username"] == "bureau"));
}

#[tokio::test]
async fn wrong_codes_count_as_failed_logins() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let (phone, _) = enrol(&app, &admin, "admin").await;
    for _ in 0..5 {
        let res = login_with(&app, "admin", PASSWORD, Some(&phone.wrong_code())).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let code = fresh_code(&app, &phone, "admin").await;
    let body = problem(login_with(&app, "admin", PASSWORD, Some(&code)).await, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["type"], "/problems/too-many-logins");
}

#[tokio::test]
async fn a_recovery_code_logs_in_once_and_new_ones_replace_the_old() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let (phone, codes) = enrol(&app, &bureau, "bureau").await;
    // As printed or typed in capitals: the same code.
    let res = login_with(&app, "bureau", PASSWORD, Some(&codes[3].to_uppercase())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = problem(login_with(&app, "bureau", PASSWORD, Some(&codes[3])).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["type"], "/problems/wrong-second-factor");
    let used = events(&app, "recovery_code_used").await;
    assert_eq!((used.len(), &used[0]["detail"]["left"]), (1, &json!(9)));

    let res = bureau.post("/api/me/two-factor/recovery-codes", &json!({"code": phone.wrong_code()})).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/code"]);
    let res = bureau
        .post("/api/me/two-factor/recovery-codes", &json!({"code": fresh_code(&app, &phone, "bureau").await}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let renewed: Value = res.json().await.unwrap();
    let renewed = renewed["recovery_codes"].as_array().unwrap();
    assert_eq!(renewed.len(), 10);
    // An old code never used stops working; a new one works.
    let res = login_with(&app, "bureau", PASSWORD, Some(&codes[4])).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = login_with(&app, "bureau", PASSWORD, renewed[0].as_str()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(events(&app, "recovery_codes_renewed").await.len(), 1);
}

#[tokio::test]
async fn turning_it_off_takes_the_password_and_a_code() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let (phone, _) = enrol(&app, &bureau, "bureau").await;
    let off = |body: Value| {
        let bureau = bureau.clone();
        async move { bureau.send_json(Method::DELETE, "/api/me/two-factor", None, &body).await }
    };
    let code = fresh_code(&app, &phone, "bureau").await;
    let res = off(json!({"password": "not the password", "code": code})).await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/password"]);
    assert_eq!(body["errors"][0]["code"], "wrong_password");
    let res = off(json!({"password": PASSWORD, "code": phone.wrong_code()})).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/code"]);
    let res = off(json!({"password": PASSWORD})).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/code"]);
    let res = off(json!({"password": PASSWORD, "code": code})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["two_factor"], false);
    assert_eq!(login_with(&app, "bureau", PASSWORD, None).await.status(), StatusCode::OK);
    problem(off(json!({"password": PASSWORD, "code": "123456"})).await, StatusCode::CONFLICT).await;
    let disabled = events(&app, "two_factor_disabled").await;
    assert_eq!((disabled.len(), &disabled[0]["username"]), (1, &json!("bureau")));
}

#[tokio::test]
async fn the_policy_holds_staff_until_they_enrol_and_leaves_tokens_working() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let bureau = app.login("bureau").await;
    let token: Value = bureau.post("/api/me/tokens", &json!({"name": "nightly export"})).await.json().await.unwrap();
    let script = reqwest::Client::new();
    let bearer = format!("Bearer {}", token["secret"].as_str().unwrap());

    assert_eq!(admin.get("/api/security/two-factor").await.json::<Value>().await.unwrap(), json!({"required_for": []}));
    // An administrator requires it of administrators only once using it.
    let body = problem(
        admin.send_json(Method::PUT, "/api/security/two-factor", None, &json!({"required_for": ["admin"]})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("your own account first"), "{body}");
    assert_eq!(body["code"], "enrol_first", "{body}");
    // Asked without a language, the refusal is worded in Chinese from its code.
    let plain = admin.unworded();
    let put = plain.send_json(Method::PUT, "/api/security/two-factor", None, &json!({"required_for": ["admin"]})).await;
    let body = problem(put, StatusCode::CONFLICT).await;
    assert_eq!(body["detail"], "请先为自己的账号开启两步验证，再要求管理员使用", "{body}");
    let body = problem(
        admin.send_json(Method::PUT, "/api/security/two-factor", None, &json!({"required_for": ["staff"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&body), ["/required_for"]);
    let res =
        admin.send_json(Method::PUT, "/api/security/two-factor", None, &json!({"required_for": ["bureau"]})).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"required_for": ["bureau"]}));

    // The bureau's web session may ask who it is and enrol, nothing else.
    let who = me(&bureau).await;
    assert_eq!((&who["two_factor"], &who["two_factor_required"]), (&json!(false), &json!(true)));
    let body = problem(bureau.get("/api/tasks").await, StatusCode::FORBIDDEN).await;
    assert_eq!(body["type"], "/problems/two-factor-enrolment-required");
    let body =
        problem(bureau.post("/api/me/tokens", &json!({"name": "a way round"})).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body["type"], "/problems/two-factor-enrolment-required");
    // A fresh login gets the same hold, not a refusal to log in.
    let fresh = caller_from(&app, &login_with(&app, "bureau", PASSWORD, None).await);
    assert_eq!(fresh.get("/api/tasks").await.status(), StatusCode::FORBIDDEN);
    // Its script's token is not held: reading and writing go on.
    let res =
        script.get(format!("{}/api/tasks", app.base)).header(header::AUTHORIZATION, &bearer).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = script
        .post(format!("{}/api/tasks", app.base))
        .header(header::AUTHORIZATION, &bearer)
        .json(&task_at(point(119.95, 30.8), json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // Township officers are not required.
    assert_eq!(app.login("township-330599101").await.get("/api/tasks").await.status(), StatusCode::OK);

    let (phone, _) = enrol(&app, &bureau, "bureau").await;
    assert_eq!(bureau.get("/api/tasks").await.status(), StatusCode::OK, "released once enrolled");
    let code = fresh_code(&app, &phone, "bureau").await;
    let body = problem(
        bureau
            .send_json(Method::DELETE, "/api/me/two-factor", None, &json!({"password": PASSWORD, "code": code}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("requires"), "{body}");
    assert_eq!((&body["code"], &body["params"]["role"]), (&json!("two_factor_required"), &json!("bureau")), "{body}");

    // A lost phone: the administrator resets it, and the account is held to enrol again.
    let id = who["id"].as_str().unwrap();
    let res = admin.send_json(Method::PATCH, &format!("/api/users/{id}"), None, &json!({"two_factor": true})).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/two_factor"]);
    let res = admin.send_json(Method::PATCH, &format!("/api/users/{id}"), None, &json!({"two_factor": false})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["two_factor"], false);
    assert_eq!(bureau.get("/api/tasks").await.status(), StatusCode::FORBIDDEN);
    let res = login_with(&app, "bureau", PASSWORD, None).await;
    assert_eq!(res.status(), StatusCode::OK, "after a reset the password alone logs in, to enrol again");

    let reset = events(&app, "two_factor_disabled").await;
    assert_eq!((reset[0]["username"].as_str(), reset[0]["subject_username"].as_str()), (Some("admin"), Some("bureau")));
    let changed = events(&app, "two_factor_policy_changed").await;
    assert_eq!(changed.len(), 1, "the refused changes changed nothing");
    assert_eq!(changed[0]["detail"], json!({"before": [], "after": ["bureau"]}));
}

async fn stored_secret(app: &TestApp, username: &str) -> Vec<u8> {
    sqlx::query_scalar("SELECT f.secret FROM two_factor f JOIN users u ON u.id = f.user_id WHERE u.username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_secret_is_stored_sealed_and_a_server_without_its_key_says_so() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let (phone, _) = enrol(&app, &bureau, "bureau").await;
    let stored = stored_secret(&app, "bureau").await;
    assert_eq!(stored.len(), 60, "nonce, sealed secret and tag");
    assert!(!stored.windows(phone.secret.len()).any(|w| w == phone.secret.as_slice()), "not in the clear");

    // The same database served with another key file, as after a restore without the key.
    let other = spawn_with(greenledger::store::DbConfig::new(url_for(&app.db_name).as_str()), String::new()).await;
    let code = fresh_code(&app, &phone, "bureau").await;
    let p = problem(login_with(&other, "bureau", PASSWORD, Some(&code)).await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(p["detail"].as_str().unwrap().contains("GREENLEDGER_SECRET_KEY_FILE"), "{p}");
    // The code was not spent there: the server with the key takes it.
    assert_eq!(login_with(&app, "bureau", PASSWORD, Some(&code)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn secrets_stored_in_the_clear_before_sealing_still_log_in_and_are_sealed_at_start() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let (phone, _) = enrol(&app, &bureau, "bureau").await;
    sqlx::query("UPDATE two_factor f SET secret = $1 FROM users u WHERE u.id = f.user_id AND u.username = 'bureau'")
        .bind(&phone.secret)
        .execute(&app.db)
        .await
        .unwrap();
    let code = fresh_code(&app, &phone, "bureau").await;
    assert_eq!(login_with(&app, "bureau", PASSWORD, Some(&code)).await.status(), StatusCode::OK);

    // What `serve` does at start, with the key this app made in its data folder.
    let key = greenledger::auth::key_file::load_or_create(&app.data_dir.join("secret.key")).unwrap();
    assert_eq!(greenledger::store::two_factor::seal_plain(&app.db, &key).await.unwrap(), 1);
    assert_eq!(stored_secret(&app, "bureau").await.len(), 60);
    let code = fresh_code(&app, &phone, "bureau").await;
    assert_eq!(login_with(&app, "bureau", PASSWORD, Some(&code)).await.status(), StatusCode::OK);
}
