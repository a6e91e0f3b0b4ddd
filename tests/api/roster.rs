//! Accounts in bulk: a county's roster of officers from a CSV file saved by Excel in GBK (or a JSON
//! array), all or nothing, every refused row named; temporary passwords given once, working once,
//! then changed. The same from the command line, and one officer per township without one.

use std::process::Command;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::*;

/// A roster as a county keeps it: Chinese headings, township by name or by code.
const ROSTER: &str = "用户名,姓名,角色,乡镇,密码\r\n\
                      zhang.san,张三,乡镇,城东街道,\r\n\
                      li.si,李四,township,330599101,\r\n\
                      wang.wu,王五,环保局,,river dredging permit 7\r\n";

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

async fn send_csv(caller: &Caller, query: &str, key: Option<&str>, bytes: Vec<u8>) -> reqwest::Response {
    let mut req = caller
        .request(reqwest::Method::POST, &format!("/api/users/bulk{query}"))
        .header(header::CONTENT_TYPE, "text/csv");
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    req.body(bytes).send().await.unwrap()
}

async fn login_with(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn user_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.db).await.unwrap()
}

fn caller_from(app: &TestApp, res: &reqwest::Response) -> Caller {
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    Caller { base: app.base.clone(), client: app.client.clone(), cookie: Some(cookie) }
}

#[tokio::test]
async fn a_gbk_roster_makes_every_account_and_hands_out_temporary_passwords_once() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let key = new_key();
    let res = send_csv(&admin, "", Some(&key), gbk(ROSTER)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();
    let created = report["created"].as_array().unwrap();
    let summary: Vec<(u64, &str, &str, Option<&str>)> = created
        .iter()
        .map(|a| {
            (
                a["row"].as_u64().unwrap(),
                a["username"].as_str().unwrap(),
                a["role"].as_str().unwrap(),
                a["township"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (2, "zhang.san", "township", Some(WEST)),
            (3, "li.si", "township", Some(MIDDLE)),
            (4, "wang.wu", "bureau", None)
        ],
        "rows numbered as the spreadsheet shows them; the township found by its name"
    );
    assert_eq!(created[0]["display_name"], "张三", "GBK read as GBK");
    let zhang = created[0]["temporary_password"].as_str().unwrap().to_owned();
    assert!(zhang.len() >= 16, "{zhang}");
    assert_ne!(Some(zhang.as_str()), created[1]["temporary_password"].as_str());
    assert!(created[2].get("temporary_password").is_none(), "a password the file gave is not echoed");

    // The handout: the made passwords only, for Excel.
    let csv = report["passwords_csv"].as_str().unwrap();
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "username,display_name,role,township,township_name,department,temporary_password");
    assert_eq!(lines[1], format!("zhang.san,张三,township,{WEST},城东街道,,{zhang}"));
    assert_eq!(lines.len(), 3);

    // Sent again with the same key (a lost answer): the same answer, nothing made twice.
    let users = user_count(&app).await;
    let again = send_csv(&admin, "", Some(&key), gbk(ROSTER)).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), report);
    assert_eq!(user_count(&app).await, users);
    let kept: Vec<u8> = sqlx::query_scalar("SELECT body FROM idempotency_keys").fetch_one(&app.db).await.unwrap();
    assert!(!String::from_utf8_lossy(&kept).contains(&zhang), "the kept answer holds no password readable");

    // Without the key: the usernames are now taken, and the roster is refused whole.
    let res = send_csv(&admin, "", None, gbk(ROSTER)).await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/2/username", "/3/username", "/4/username"]);

    // The temporary password works once: to choose one's own.
    let res = login_with(&app, "zhang.san", &zhang).await;
    assert_eq!(res.status(), StatusCode::OK);
    let zhang_session = caller_from(&app, &res);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["user"]["must_change_password"], true);
    let held = problem(zhang_session.get("/api/tasks").await, StatusCode::FORBIDDEN).await;
    assert_eq!(held["type"], "/problems/password-change-required");
    let changed = zhang_session
        .post("/api/me/password", &json!({"current_password": zhang, "new_password": "my own township secret"}))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(zhang_session.get("/api/tasks").await.status(), StatusCode::OK);
    assert_eq!(login_with(&app, "zhang.san", &zhang).await.status(), StatusCode::UNAUTHORIZED, "not twice");
    assert_eq!(login_with(&app, "zhang.san", "my own township secret").await.status(), StatusCode::OK);
    // The one whose password the file gave must change it too.
    let me: Value = login_with(&app, "wang.wu", "river dredging permit 7").await.json().await.unwrap();
    assert_eq!(me["user"]["must_change_password"], true);
}

#[tokio::test]
async fn a_roster_with_bad_rows_is_refused_row_by_row_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let before = user_count(&app).await;
    let roster = "username,display_name,role,township,password\n\
                  good.one,好人,township,青溪镇,\n\
                  Bad Name,,township,青溪镇,\n\
                  nowhere,无处,township,仙境镇,\n\
                  boss,,chief,,\n\
                  township-330599101,,township,330599101,\n\
                  good.one,,bureau,,\n\
                  weak,,bureau,,Password2024!!\n\
                  staff.town,,bureau,城东街道,\n";
    let res = send_csv(&admin, "", None, roster.as_bytes().to_vec()).await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        pointers(&body),
        ["/3/username", "/4/township", "/5/role", "/6/username", "/7/username", "/8/password", "/9/township"]
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("7 row(s) refused") && detail.contains("nothing was stored"), "{detail}");
    let errors = body["errors"].as_array().unwrap();
    assert!(errors[1]["detail"].as_str().unwrap().contains("仙境镇"), "{body}");
    assert!(errors[3]["detail"].as_str().unwrap().contains("taken"), "{body}");
    assert!(errors[4]["detail"].as_str().unwrap().contains("row 2"), "{body}");
    assert!(errors[5]["detail"].as_str().unwrap().contains("commonly used"), "{body}");
    assert_eq!(user_count(&app).await, before, "nothing stored");
    let good: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE username = 'good.one'").fetch_one(&app.db).await.unwrap();
    assert_eq!(good, 0);

    // An unknown column is named at the headings; a file that is no text is refused as such.
    let res = send_csv(&admin, "", None, b"username,mobile\nx1,139\n".to_vec()).await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/1"]);
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("mobile"));
    let res = send_csv(&admin, "?encoding=utf-8", None, gbk(ROSTER)).await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["pointer"], "");
    let res = send_csv(&admin, "?skip=1", None, gbk(ROSTER)).await;
    assert_eq!(pointers(&problem(res, StatusCode::BAD_REQUEST).await), ["skip"]);
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn existing_usernames_can_be_skipped_and_json_and_form_uploads_are_taken_too() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let rows = json!([
        {"username": "bureau", "role": "bureau"},
        {"username": "chen.liu", "display_name": "陈六", "role": "township", "township": EAST},
    ]);
    let res = admin.post("/api/users/bulk", &rows).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/0/username"]);
    let res = admin.post("/api/users/bulk?skip_existing=true", &rows).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        report["skipped"],
        json!([{"row": 0, "username": "bureau", "reason": "the username 'bureau' exists; skipped"}])
    );
    assert_eq!(report["created"][0]["username"], "chen.liu");
    // Everything skipped: nothing created, and said so.
    let res = admin.post("/api/users/bulk?skip_existing=true", &rows).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["created"], json!([]));
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2);

    // The CSV file as a form upload (curl -F file=@officers.csv).
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(gbk(ROSTER)).file_name("乡镇干部.csv"));
    let res = admin.request(reqwest::Method::POST, "/api/users/bulk").multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["created"].as_array().unwrap().len(), 3);

    let res = admin
        .request(reqwest::Method::POST, "/api/users/bulk")
        .header(header::CONTENT_TYPE, "application/vnd.ms-excel")
        .body("x")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

fn greenledger(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The temporary password the command printed for `username`.
fn printed_password(stdout: &str, username: &str) -> String {
    stdout
        .lines()
        .find(|l| l.contains(&format!("created {username} ")))
        .and_then(|l| l.split("temporary password: ").nth(1))
        .unwrap_or_else(|| panic!("no password printed for {username}: {stdout}"))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_command_line_imports_a_gbk_roster_and_writes_the_passwords_to_hand_out() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("乡镇干部.csv");
    std::fs::write(&file, gbk(ROSTER)).unwrap();
    let handout = dir.path().join("passwords.csv");
    let args = ["accounts", "import", file.to_str().unwrap(), "--passwords-csv", handout.to_str().unwrap()];
    let (ok, stdout, stderr) = greenledger(&app, &args);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("3 row(s), read as GBK"), "{stdout}");
    assert!(stdout.contains("3 account(s) created, 0 skipped"), "{stdout}");
    let li = printed_password(&stdout, "li.si");
    let written = std::fs::read_to_string(&handout).unwrap();
    assert!(written.contains(&format!("li.si,李四,township,{MIDDLE},青溪镇,,{li}")), "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&handout).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(login_with(&app, "li.si", &li).await.status(), StatusCode::OK);

    // Again: every row refused, by row and field, and nothing stored; or skipped, when asked.
    let (ok, stdout, stderr) = greenledger(&app, &["accounts", "import", file.to_str().unwrap()]);
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("3 row(s) refused (2, 3, 4); nothing was stored"), "{stderr}");
    assert!(stderr.contains("row 3, username: the username 'li.si' is taken"), "{stderr}");
    let (ok, stdout, stderr) = greenledger(&app, &["accounts", "import", file.to_str().unwrap(), "--skip-existing"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("row 3: skipped li.si: the username 'li.si' exists"), "{stdout}");
    assert!(stdout.contains("0 account(s) created, 3 skipped"), "{stdout}");
}

#[tokio::test]
async fn the_command_line_makes_one_officer_for_each_township_without_one() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    // A fourth township east of the others, with no officer; and the west one's officer leaves.
    let strip = json!({"type": "Feature", "properties": {"name": "白鹭湾镇", "kind": "town"},
        "geometry": {"type": "Polygon", "coordinates": [[[120.1, SOUTH], [120.2, SOUTH], [120.2, NORTH], [120.1, NORTH], [120.1, SOUTH]]]}});
    let res = admin.send_json(reqwest::Method::PUT, "/api/townships/330599402", None, &strip).await;
    assert_eq!(res.status(), StatusCode::OK);
    let west: String = sqlx::query_scalar("SELECT id::text FROM users WHERE username = $1")
        .bind(format!("township-{WEST}"))
        .fetch_one(&app.db)
        .await
        .unwrap();
    let res =
        admin.send_json(reqwest::Method::PATCH, &format!("/api/users/{west}"), None, &json!({"active": false})).await;
    assert_eq!(res.status(), StatusCode::OK);

    let (ok, stdout, stderr) = greenledger(&app, &["accounts", "create-township-officers"]);
    assert!(ok, "{stdout}{stderr}");
    let password = printed_password(&stdout, "township-330599402");
    assert!(stdout.contains("白鹭湾镇"), "{stdout}");
    assert!(stdout.contains(&format!("skipped township-{WEST}: the username 'township-{WEST}' exists")), "{stdout}");
    assert!(stdout.contains("1 account(s) created, 1 skipped"), "{stdout}");
    let res = login_with(&app, "township-330599402", &password).await;
    let me: Value = res.json().await.unwrap();
    assert_eq!((me["user"]["township"].as_str(), me["user"]["role"].as_str()), (Some("330599402"), Some("township")));

    let (ok, stdout, _) = greenledger(&app, &["accounts", "create-township-officers"]);
    assert!(ok);
    assert!(stdout.contains("0 account(s) created, 1 skipped"), "only the west one is still without: {stdout}");
}

#[tokio::test]
async fn a_reset_gives_a_temporary_password_made_by_the_service_once() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let id: String =
        sqlx::query_scalar("SELECT id::text FROM users WHERE username = 'bureau'").fetch_one(&app.db).await.unwrap();
    let path = format!("/api/users/{id}");
    let res = admin.send_json(reqwest::Method::PATCH, &path, None, &json!({"reset_password": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    let temporary = changed["temporary_password"].as_str().unwrap().to_owned();
    assert_eq!(changed["must_change_password"], true);
    assert_eq!(login_with(&app, "bureau", PASSWORD).await.status(), StatusCode::UNAUTHORIZED, "the old one is gone");
    let res = login_with(&app, "bureau", &temporary).await;
    assert_eq!(res.json::<Value>().await.unwrap()["user"]["must_change_password"], true);
    let listed: Value = admin.get("/api/users").await.json().await.unwrap();
    assert!(!listed.to_string().contains(&temporary), "never shown again");
    let res = admin
        .send_json(
            reqwest::Method::PATCH,
            &path,
            None,
            &json!({"reset_password": true, "password": "long enough, surely"}),
        )
        .await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/reset_password"]);
}
