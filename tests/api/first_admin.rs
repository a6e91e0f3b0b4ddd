//! A county's own start: an empty ledger (migrations only, the task families present), the first
//! administrator made on the command line with a temporary password, and every account made with a
//! temporary password held to choosing its own before anything else.

use std::process::Command;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

use crate::helpers::*;

/// A database with nothing in it, not even PostGIS: what a county's server starts from.
struct EmptyDatabase {
    name: String,
}

impl EmptyDatabase {
    async fn create() -> EmptyDatabase {
        let name = format!("gl_empty_{}_{}", std::process::id(), rand_suffix());
        let mut admin = PgConnection::connect(&url_for("postgres")).await.unwrap();
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        EmptyDatabase { name }
    }

    fn url(&self) -> String {
        url_for(&self.name)
    }

    fn greenledger(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_greenledger")).args(args).env("DATABASE_URL", self.url()).output().unwrap()
    }
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        drop_database(std::mem::take(&mut self.name));
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 % 1_000_000_007
}

async fn login_as(app: &TestApp, username: &str, password: &str) -> (Caller, Value) {
    let res = app
        .client
        .post(app.url("/api/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "login as {username}");
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let me: Value = res.json().await.unwrap();
    (Caller { base: app.base.clone(), client: app.client.clone(), cookie: Some(cookie) }, me)
}

async fn change_password(caller: &Caller, current: &str, new: &str) -> reqwest::Response {
    caller.post("/api/me/password", &json!({"current_password": current, "new_password": new})).await
}

/// 403 with the problem type the web app turns into its change-password form.
async fn held_to_change(res: reqwest::Response) {
    let body = problem(res, StatusCode::FORBIDDEN).await;
    assert_eq!(body["type"], "/problems/password-change-required", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("/api/me/password"), "{body}");
}

#[tokio::test]
async fn a_production_start_has_an_empty_ledger_and_a_first_administrator_who_must_choose_a_password() {
    let db = EmptyDatabase::create().await;
    let out = db.greenledger(&["migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = db.greenledger(&["admin", "create", "--username", "chief", "--display-name", "信息科"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let temporary = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("temporary password: "))
        .unwrap_or_else(|| panic!("the password is printed once: {stdout}"))
        .to_owned();
    assert!(temporary.len() >= 12, "{temporary}");
    let again = db.greenledger(&["admin", "create", "--username", "chief"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("'chief' is taken"));

    let app = spawn_with(greenledger::store::DbConfig::new(db.url()), String::new()).await;
    let townships: Value = app.anonymous().get("/api/townships").await.json().await.unwrap();
    assert_eq!(townships["features"], json!([]), "no demo county");
    let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(&app.db).await.unwrap();
    assert_eq!(tasks, 0);
    let families: Value = app.anonymous().get("/api/categories").await.json().await.unwrap();
    assert_eq!(families.as_array().unwrap().len(), 4, "the task families a county needs are there");

    let (chief, me) = login_as(&app, "chief", &temporary).await;
    assert_eq!(me["user"]["must_change_password"], true);
    held_to_change(chief.get("/api/users").await).await;
    held_to_change(chief.get("/api/tasks").await).await;
    held_to_change(chief.post("/api/me/tokens", &json!({"name": "script"})).await).await;
    let me: Value = chief.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["must_change_password"], true, "who-am-I still answers");

    let wrong = problem(
        change_password(&chief, "not it at all", "a county of its own").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&wrong), ["/current_password"]);
    let same = problem(change_password(&chief, &temporary, &temporary).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&same), ["/new_password"]);
    let res = change_password(&chief, &temporary, "a county of its own").await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["user"]["must_change_password"], false);
    assert_eq!(chief.get("/api/users").await.status(), StatusCode::OK, "the same session now works");
    let (_, me) = login_as(&app, "chief", "a county of its own").await;
    assert_eq!(me["user"]["must_change_password"], false);
}

#[tokio::test]
async fn accounts_an_administrator_creates_or_resets_must_choose_their_own_password() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let res = admin
        .post("/api/users", &json!({"username": "li.ming", "role": "bureau", "password": "handed over on paper"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["must_change_password"], true);

    let (li, _) = login_as(&app, "li.ming", "handed over on paper").await;
    held_to_change(li.get("/api/tasks").await).await;
    held_to_change(li.post("/api/tasks", &task_at(point(119.85, 30.8), json!({}))).await).await;
    assert_eq!(app.task_count().await, 0, "nothing was stored by the refused create");
    assert_eq!(change_password(&li, "handed over on paper", "my very own secret").await.status(), StatusCode::OK);
    assert_eq!(li.get("/api/tasks").await.status(), StatusCode::OK);

    let id = created["id"].as_str().unwrap();
    let res = admin
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/users/{id}"),
            None,
            &json!({"password": "reset by the admin"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (li, me) = login_as(&app, "li.ming", "reset by the admin").await;
    assert_eq!(me["user"]["must_change_password"], true, "a reset password is temporary too");
    held_to_change(li.get("/api/tasks").await).await;
    // Logging out stays possible.
    let out = li.request(reqwest::Method::DELETE, "/api/session").send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
}
