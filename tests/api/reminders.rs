//! Reminders (催办): the daily digests built over a purpose-made ledger, made once per unit and day
//! however many runs there are, delivered to a real webhook listener (WeCom, and DingTalk with its
//! signature checked by the listener) and a real SMTP server (aiosmtpd), retried with backoff; the
//! bureau's chases in the task's history; the inbox; and who may do what.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Uri;
use base64::Engine;
use greenledger::reminders::{ReminderConfig, Sender, SmtpSecurity};
use hmac::Mac;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// The codes of the tasks of the purpose-made ledger, by what they are.
struct Ledger {
    due_soon: String,
    overdue: String,
    stale: String,
    returned: String,
    answered: String,
    cancelled: String,
    verified: String,
    completed: String,
    west_overdue: String,
    /// The overdue task's id (chased in some tests).
    overdue_id: String,
}

async fn task(app: &TestApp, lon: f64, title: &str, extra: Value) -> (String, String) {
    let mut props = json!({"title": title});
    if let (Value::Object(p), Value::Object(e)) = (&mut props, extra) {
        p.extend(e);
    }
    let (id, _, body) = app.create(&task_at(point(lon, 30.85), props)).await;
    (id, body["properties"]["code"].as_str().unwrap().to_owned())
}

fn days(n: i64) -> String {
    (chrono::Utc::now().with_timezone(&chrono_tz_shanghai()).date_naive() + chrono::Duration::days(n)).to_string()
}

/// The county's zone (Asia/Shanghai, UTC+8 all year), for working out "today" as the service does.
fn chrono_tz_shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).unwrap()
}

/// One task of each kind in 青溪镇 (MIDDLE), the overdue one led by the water bureau, and one
/// overdue task in 城东街道 (WEST).
async fn ledger(app: &TestApp) -> Ledger {
    let (_, due_soon) =
        task(app, 119.95, "即将到期的清淤", json!({"due_date": days(3), "status": "in_progress"})).await;
    let (overdue_id, overdue) =
        task(app, 119.951, "逾期的排污口整治", json!({"due_date": days(-2), "status": "in_progress"})).await;
    let (stale_id, stale) = task(app, 119.952, "长期未报告的任务", json!({"due_date": days(90)})).await;
    // Its latest report was 45 days ago (created_at is kept by a trigger; the report time is not).
    sqlx::query("UPDATE tasks SET last_report_at = now() - interval '45 days' WHERE id = $1::uuid")
        .bind(&stale_id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE tasks SET lead_department = 'water' WHERE id = $1::uuid")
        .bind(&overdue_id)
        .execute(&app.db)
        .await
        .unwrap();
    let (returned_id, returned) =
        task(app, 119.953, "退回后未整改", json!({"due_date": days(30), "status": "completed"})).await;
    assert_eq!(app.transition(&returned_id, "return", Some("照片不清楚，请补充")).await.status(), StatusCode::OK);
    let (answered_id, answered) =
        task(app, 119.954, "退回后已答复", json!({"due_date": days(30), "status": "completed"})).await;
    assert_eq!(app.transition(&answered_id, "return", Some("请补充台账")).await.status(), StatusCode::OK);
    let own = app.login(&format!("township-{MIDDLE}")).await;
    let etag = own.etag(&answered_id).await;
    let res = own.report(&answered_id, &etag, &new_key(), &[("progress", "90"), ("note", "已补充台账")], &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    let (cancelled_id, cancelled) = task(app, 119.955, "取消的任务", json!({"due_date": days(-5)})).await;
    assert_eq!(app.transition(&cancelled_id, "cancel", Some("合并到其他任务")).await.status(), StatusCode::OK);
    let (verified_id, verified) =
        task(app, 119.956, "已销号的任务", json!({"due_date": days(-5), "status": "completed"})).await;
    assert_eq!(app.transition(&verified_id, "verify", Some("现场核验")).await.status(), StatusCode::OK);
    let (_, completed) = task(app, 119.957, "已完成待核验", json!({"due_date": days(-5), "status": "completed"})).await;
    let (_, west_overdue) = task(app, 119.85, "城东逾期任务", json!({"due_date": days(-1), "status": "planned"})).await;
    Ledger { due_soon, overdue, stale, returned, answered, cancelled, verified, completed, west_overdue, overdue_id }
}

async fn today(app: &TestApp) -> chrono::NaiveDate {
    greenledger::store::reminders::today(&app.db).await.unwrap()
}

fn sender(tweak: impl FnOnce(&mut ReminderConfig)) -> Sender {
    let mut config = ReminderConfig { retry_secs: 1, ..ReminderConfig::none() };
    tweak(&mut config);
    Sender::new(&config).unwrap()
}

/// The codes an inbox item names in `section`.
fn named(item: &Value, section: &str) -> Vec<String> {
    item["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["section"] == section)
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_unit_gets_a_digest_of_what_to_chase_and_nothing_that_is_closed() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let (made, _) = greenledger::reminders::run(&app.db, today(&app).await, &sender(|_| {})).await.unwrap();
    assert!(made.ran);
    assert_eq!(made.digests, 3, "青溪镇, 城东街道 and the water bureau");

    let own = app.login(&format!("township-{MIDDLE}")).await;
    let inbox: Value = own.get("/api/inbox").await.json().await.unwrap();
    assert_eq!((inbox["unread"].as_i64(), inbox["total"].as_i64()), (Some(1), Some(1)), "{inbox}");
    let digest = &inbox["items"][0];
    assert_eq!(digest["kind"], "digest");
    assert_eq!(digest["counts"], json!({"due_soon": 1, "overdue": 1, "stale": 1, "returned": 1}));
    assert_eq!(named(digest, "due_soon"), [l.due_soon.as_str()]);
    assert_eq!(named(digest, "overdue"), [l.overdue.as_str()]);
    assert_eq!(named(digest, "stale"), [l.stale.as_str()]);
    assert_eq!(named(digest, "returned"), [l.returned.as_str()]);
    let all = digest.to_string();
    for closed in [&l.answered, &l.cancelled, &l.verified, &l.completed, &l.west_overdue] {
        assert!(!all.contains(closed.as_str()), "{closed} is not for 青溪镇 today: {all}");
    }

    let west = app.login(&format!("township-{WEST}")).await;
    let inbox: Value = west.get("/api/inbox").await.json().await.unwrap();
    assert_eq!(named(&inbox["items"][0], "overdue"), [l.west_overdue.as_str()]);
    assert_eq!(inbox["items"][0]["counts"]["due_soon"], 0);

    // The lead department's digest holds the tasks it leads only.
    let water: Value = sqlx::query_scalar(
        "SELECT items FROM reminders WHERE unit_kind = 'department' AND unit_code = 'water' AND kind = 'digest'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let codes: Vec<&str> = water.as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, [l.overdue.as_str()]);

    // Staff belong to no unit: their inbox is empty, not refused.
    let inbox: Value = app.get("/api/inbox").await.json().await.unwrap();
    assert_eq!(inbox["total"], 0);
}

#[tokio::test]
async fn the_settings_decide_what_is_due_soon_and_what_is_stale() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let admin = app.login("admin").await;
    let res = admin
        .send_json(
            Method::PUT,
            "/api/reminders/settings",
            None,
            &json!({"due_within_days": 2, "stale_after_days": 60, "run_at": "07:30"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(admin.get("/api/reminders/settings").await.json::<Value>().await.unwrap()["run_at"], "07:30");
    greenledger::reminders::run(&app.db, today(&app).await, &sender(|_| {})).await.unwrap();
    let own = app.login(&format!("township-{MIDDLE}")).await;
    let inbox: Value = own.get("/api/inbox").await.json().await.unwrap();
    let digest = &inbox["items"][0];
    assert_eq!(digest["counts"]["due_soon"], 0, "due in 3 days is not within 2: {digest}");
    assert_eq!(digest["counts"]["stale"], 0, "45 days without a report is not 60");
    assert_eq!(named(digest, "overdue"), [l.overdue]);
}

#[tokio::test]
async fn a_day_is_run_once_however_often_and_by_however_many() {
    let app = spawn_app().await;
    ledger(&app).await;
    let day = today(&app).await;
    // Two runs at once, as two instances behind the balancer would: one makes the day, the other
    // waits for it and finds it done.
    let (a, b) = tokio::join!(
        greenledger::store::reminders::run_day(&app.db, day),
        greenledger::store::reminders::run_day(&app.db, day)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.ran != b.ran, "exactly one of two concurrent runs makes the digests: {a:?} {b:?}");
    assert_eq!(a.digests + b.digests, 3);
    // Run again, through the command line an operator uses.
    for _ in 0..2 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
            .args(["reminders", "run", "--date", &day.to_string()])
            .env("DATABASE_URL", app.database_url())
            .env("GREENLEDGER_TIMEZONE", "Asia/Shanghai")
            .env_remove("GREENLEDGER_SMTP_HOST")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("already run"), "{text}");
    }
    let digests: i64 = sqlx::query_scalar("SELECT count(*) FROM reminders WHERE kind = 'digest' AND day = $1")
        .bind(day)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(digests, 3);
    // Another day is another digest, made by the command line.
    let tomorrow = day.succ_opt().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(["reminders", "run", "--date", &tomorrow])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{tomorrow}: 3 digests")), "{text}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(["reminders", "run", "--date", "2026-02-30"])
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// A robot's webhook on a loopback port: answers 500 to the first `fail_first` messages, then
/// takes them (`errcode` 0) — or, with a `secret`, takes only messages signed as DingTalk signs
/// them, worked out here from its documentation.
struct Hook {
    url: String,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn hook(fail_first: usize, secret: Option<&str>) -> Hook {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let (log, secret) = (seen.clone(), secret.map(str::to_owned));
    let handler = move |uri: Uri, body: Bytes| {
        let (log, secret) = (log.clone(), secret.clone());
        async move {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let n = {
                let mut log = log.lock().unwrap();
                log.push((uri.to_string(), body));
                log.len()
            };
            if n <= fail_first {
                return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "busy".to_owned());
            }
            if let Some(secret) = secret
                && !signed(uri.query().unwrap_or(""), &secret)
            {
                return (
                    axum::http::StatusCode::OK,
                    json!({"errcode": 310000, "errmsg": "sign not match"}).to_string(),
                );
            }
            (axum::http::StatusCode::OK, json!({"errcode": 0, "errmsg": "ok"}).to_string())
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/robot/send?access_token=tok123456", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/robot/send", axum::routing::post(handler))).await
    });
    Hook { url, seen }
}

/// DingTalk's check: `sign` is base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), and the
/// timestamp within an hour of now.
fn signed(query: &str, secret: &str) -> bool {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(timestamp), Some(sign)) = (get("timestamp"), get("sign")) else { return false };
    let Ok(ms) = timestamp.parse::<i64>() else { return false };
    if (chrono::Utc::now().timestamp_millis() - ms).abs() > 3_600_000 {
        return false;
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()) == sign
}

async fn set_channels(app: &TestApp, kind: &str, code: &str, body: Value) -> Value {
    let admin = app.login("admin").await;
    let res = admin.send_json(Method::PUT, &format!("/api/reminders/channels/{kind}/{code}"), None, &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn deliveries(app: &TestApp) -> Vec<Value> {
    let admin = app.login("admin").await;
    admin.get("/api/reminders/deliveries").await.json().await.unwrap()
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_backoff_until_the_robot_takes_it() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let robot = hook(1, None).await;
    set_channels(&app, "township", MIDDLE, json!({"robot": {"kind": "wecom", "url": robot.url}})).await;
    let sender = sender(|c| c.retry_secs = 2);
    let (made, sent) = greenledger::reminders::run(&app.db, today(&app).await, &sender).await.unwrap();
    assert_eq!((made.deliveries, sent.sent, sent.failed), (1, 0, 1));

    let shown = deliveries(&app).await;
    assert_eq!(shown.len(), 1);
    let d = &shown[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64(), d["channel"].as_str()),
        (Some("pending"), Some(1), Some("robot"))
    );
    assert!(d["last_error"].as_str().unwrap().contains("HTTP 500"), "{d}");
    let next: chrono::DateTime<chrono::Utc> = serde_json::from_value(d["next_attempt_at"].clone()).unwrap();
    assert!(next > chrono::Utc::now(), "the retry waits: {d}");

    // Not yet due: nothing is sent again before the backoff has passed.
    let again = greenledger::reminders::deliver_due(&app.db, &sender).await.unwrap();
    assert_eq!(again.sent + again.failed, 0);
    assert_eq!(robot.seen.lock().unwrap().len(), 1);
    tokio::time::sleep((next - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
    let again = greenledger::reminders::deliver_due(&app.db, &sender).await.unwrap();
    assert_eq!((again.sent, again.failed), (1, 0));

    let seen = robot.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let message = &seen[1].1;
    assert_eq!(message["msgtype"], "markdown");
    let content = message["markdown"]["content"].as_str().unwrap();
    assert!(
        content.contains("青溪镇") && content.contains(&l.overdue) && content.contains("已逾期：1 项"),
        "{content}"
    );
    let d = &deliveries(&app).await[0];
    assert_eq!((d["status"].as_str(), d["attempts"].as_i64()), (Some("sent"), Some(2)));
    assert!(d["next_attempt_at"].is_null());
    // And nothing goes out twice.
    greenledger::reminders::deliver_due(&app.db, &sender).await.unwrap();
    assert_eq!(robot.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_given_up_and_stands_out() {
    let app = spawn_app().await;
    ledger(&app).await;
    let robot = hook(usize::MAX, None).await;
    set_channels(&app, "township", WEST, json!({"robot": {"kind": "wecom", "url": robot.url}})).await;
    let sender = sender(|c| {
        c.retry_secs = 1;
        c.max_attempts = 2;
    });
    greenledger::reminders::run(&app.db, today(&app).await, &sender).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let last = greenledger::reminders::deliver_due(&app.db, &sender).await.unwrap();
    assert_eq!(last.failed, 1);
    let admin = app.login("admin").await;
    let failed: Vec<Value> = admin.get("/api/reminders/deliveries?state=failed").await.json().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0]["attempts"].as_i64(), failed[0]["unit_name"].as_str()), (Some(2), Some("城东街道")));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("greenledger_reminder_deliveries{status=\"failed\"} 1"), "{metrics}");
    let res = admin.get("/api/reminders/deliveries?state=lost").await;
    assert_eq!(pointers(&problem(res, StatusCode::BAD_REQUEST).await), ["state"]);
}

#[tokio::test]
async fn dingtalk_messages_are_signed_and_the_robot_checks_the_signature() {
    let app = spawn_app().await;
    ledger(&app).await;
    let robot = hook(0, Some("SECgood0123")).await;
    let shown = set_channels(
        &app,
        "township",
        MIDDLE,
        json!({"robot": {"kind": "dingtalk", "url": robot.url, "secret": "SECgood0123"}}),
    )
    .await;
    // The secret is never shown back, and the URL's token only by its end.
    let text = shown.to_string();
    assert!(!text.contains("SECgood0123") && !text.contains("tok123456"), "{text}");
    assert_eq!(shown[0]["robot_secret_set"], true);
    assert!(shown[0]["robot_url"].as_str().unwrap().ends_with("access_token=…3456"));
    // A change that leaves the secret out keeps it.
    set_channels(&app, "township", MIDDLE, json!({"robot": {"kind": "dingtalk", "url": robot.url}, "emails": []}))
        .await;
    // 城东街道's robot has the wrong secret: the robot refuses, and the refusal is kept.
    set_channels(
        &app,
        "township",
        WEST,
        json!({"robot": {"kind": "dingtalk", "url": robot.url, "secret": "SECwrong"}}),
    )
    .await;
    let (_, sent) = greenledger::reminders::run(&app.db, today(&app).await, &sender(|_| {})).await.unwrap();
    assert_eq!((sent.sent, sent.failed), (1, 1));
    let seen = robot.seen.lock().unwrap().clone();
    let good = seen.iter().find(|(_, m)| m["markdown"]["title"].as_str().unwrap_or("").contains("青溪镇")).unwrap();
    assert!(good.0.contains("&timestamp=") && good.0.contains("&sign="), "{}", good.0);
    assert!(good.1["markdown"]["text"].as_str().unwrap().contains("即将到期"));
    let all = deliveries(&app).await;
    let refused = all.iter().find(|d| d["unit_name"] == "城东街道").unwrap();
    assert!(refused["last_error"].as_str().unwrap().contains("sign not match"), "{refused}");
    assert!(!refused.to_string().contains("tok123456"));
}

/// A real SMTP server, Python's aiosmtpd, on a free loopback port, writing what it receives to a
/// maildir; stopped when dropped.
struct Smtp {
    port: u16,
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's Python, where scripts/deps.sh installs python3-aiosmtpd (another python3 may come first
/// on the PATH).
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" }
}

async fn smtp() -> Smtp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(python())
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir.path().join("mail"))
        .spawn()
        .expect("python3 -m aiosmtpd (scripts/deps.sh installs python3-aiosmtpd)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Smtp { port, child, dir };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not start on port {port}");
}

impl Smtp {
    /// Every message received, as (recipients, subject, body) decoded by Python's email package.
    fn received(&self) -> Vec<(String, String, String)> {
        let script = r#"
import mailbox, sys, json
from email.header import decode_header, make_header
out = []
for m in mailbox.Maildir(sys.argv[1], create=False):
    body = m.get_payload(decode=True).decode(m.get_content_charset() or 'utf-8')
    out.append([m['To'], str(make_header(decode_header(m['Subject']))), body])
print(json.dumps(out))
"#;
        let out = std::process::Command::new(python())
            .args(["-c", script])
            .arg(self.dir.path().join("mail"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut all: Vec<(String, String, String)> = serde_json::from_slice(&out.stdout).unwrap();
        all.sort();
        all
    }
}

#[tokio::test]
async fn digests_and_chases_arrive_by_email_through_a_real_smtp_server() {
    let server = smtp().await;
    let port = server.port;
    let app = spawn_app_serving(|s| {
        s.reminders.smtp_host = Some("127.0.0.1".into());
        s.reminders.smtp_port = Some(port);
        s.reminders.smtp_security = SmtpSecurity::None;
        s.reminders.smtp_from = "县生态环境局 <ledger@example.gov.cn>".into();
    })
    .await;
    let l = ledger(&app).await;
    let res =
        set_channels(&app, "township", MIDDLE, json!({"emails": ["zhang@qingxi.example.cn", "li@qingxi.example.cn"]}))
            .await;
    assert_eq!(res[0]["emails"], json!(["zhang@qingxi.example.cn", "li@qingxi.example.cn"]));
    let sender = sender(|c| {
        c.smtp_host = Some("127.0.0.1".into());
        c.smtp_port = Some(port);
        c.smtp_security = SmtpSecurity::None;
    });
    let (_, sent) = greenledger::reminders::run(&app.db, today(&app).await, &sender).await.unwrap();
    assert_eq!((sent.sent, sent.failed), (2, 0));
    let mail = server.received();
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[0].0, "li@qingxi.example.cn");
    assert!(mail[0].1.starts_with("【催办】青溪镇"), "{}", mail[0].1);
    assert!(mail[0].2.contains(&l.returned) && mail[0].2.contains("退回整改未答复：1 项"), "{}", mail[0].2);

    // A chase goes out at once, by the service's own sender.
    let res =
        app.post(&format!("/api/tasks/{}/chase", l.overdue_id), &json!({"message": "请于本周五前报告进展"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for _ in 0..100 {
        if server.received().len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = server.received();
    let chase: Vec<_> = mail.iter().filter(|m| m.1.contains(&l.overdue)).collect();
    assert_eq!(chase.len(), 2, "{mail:?}");
    assert!(chase[0].2.contains("请于本周五前报告进展"));
}

#[tokio::test]
async fn without_an_smtp_server_email_waits_and_says_why() {
    let app = spawn_app().await;
    ledger(&app).await;
    set_channels(&app, "township", MIDDLE, json!({"emails": ["zhang@qingxi.example.cn"]})).await;
    let (_, sent) = greenledger::reminders::run(&app.db, today(&app).await, &sender(|_| {})).await.unwrap();
    assert_eq!(sent.failed, 1);
    let d = &deliveries(&app).await[0];
    assert_eq!(d["status"], "pending");
    assert!(d["last_error"].as_str().unwrap().contains("GREENLEDGER_SMTP_HOST"), "{d}");
}

#[tokio::test]
async fn the_bureau_chases_a_task_and_its_history_keeps_it() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let path = format!("/api/tasks/{}/chase", l.overdue_id);
    let key = new_key();
    let send = || {
        app.request(Method::POST, &path)
            .header("idempotency-key", &key)
            .json(&json!({"message": "逾期两天，请尽快整改"}))
            .send()
    };
    let res = send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let chased: Value = res.json().await.unwrap();
    assert_eq!(chased["units"], json!([format!("township:{MIDDLE}"), "department:water"]));
    // The same request again (a lost answer): the first answer, chased once.
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), chased);

    let history: Vec<Value> = app.get(&format!("/api/tasks/{}/history", l.overdue_id)).await.json().await.unwrap();
    let chases: Vec<&Value> = history.iter().filter(|e| e["kind"] == "chased").collect();
    assert_eq!(chases.len(), 1);
    assert_eq!(
        (chases[0]["reason"].as_str(), chases[0]["actor"].as_str()),
        (Some("逾期两天，请尽快整改"), Some("bureau"))
    );
    // The public sees status changes only.
    let public: Vec<Value> =
        app.anonymous().get(&format!("/api/tasks/{}/history", l.overdue_id)).await.json().await.unwrap();
    assert!(public.iter().all(|e| e["kind"] != "chased"));

    let own = app.login(&format!("township-{MIDDLE}")).await;
    let inbox: Value = own.get("/api/inbox").await.json().await.unwrap();
    let item = &inbox["items"][0];
    assert_eq!((item["kind"].as_str(), item["message"].as_str()), (Some("chase"), Some("逾期两天，请尽快整改")));
    assert_eq!(item["items"][0]["code"], l.overdue.as_str());
    assert!(item["from"].is_string());

    // A closed task is not chased; nothing is recorded.
    let (verified_id,): (String,) = sqlx::query_as("SELECT id::text FROM tasks WHERE code = $1")
        .bind(&l.verified)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let res = app.post(&format!("/api/tasks/{verified_id}/chase"), &json!({"message": "催一下"})).await;
    problem(res, StatusCode::CONFLICT).await;
    let res = app.post(&path, &json!({"message": "  ", "to": "all"})).await;
    let mut got = pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await);
    got.sort();
    assert_eq!(got, ["/message", "/to"]);
    let res = app.post("/api/tasks/00000000-0000-0000-0000-000000000001/chase", &json!({"message": "催"})).await;
    problem(res, StatusCode::NOT_FOUND).await;
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM task_events WHERE kind = 'chased'").fetch_one(&app.db).await.unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn townships_and_the_public_may_not_chase_and_only_administrators_configure() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    let path = format!("/api/tasks/{}/chase", l.overdue_id);
    let body = json!({"message": "请加快进度"});
    let own = app.login(&format!("township-{MIDDLE}")).await;
    problem(own.post(&path, &body).await, StatusCode::FORBIDDEN).await;
    problem(app.anonymous().post(&path, &body).await, StatusCode::UNAUTHORIZED).await;
    let settings = json!({"due_within_days": 7, "stale_after_days": 30, "run_at": "08:00"});
    for caller in [own.clone(), app.bureau.clone()] {
        problem(caller.send_json(Method::PUT, "/api/reminders/settings", None, &settings).await, StatusCode::FORBIDDEN)
            .await;
        problem(caller.get("/api/reminders/deliveries").await, StatusCode::FORBIDDEN).await;
        problem(caller.get("/api/reminders/channels").await, StatusCode::FORBIDDEN).await;
    }
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM task_events WHERE kind = 'chased'").fetch_one(&app.db).await.unwrap();
    assert_eq!(events, 0);

    let admin = app.login("admin").await;
    let bad = json!({"due_within_days": 0, "stale_after_days": "30", "run_at": "25:00"});
    let res = admin.send_json(Method::PUT, "/api/reminders/settings", None, &bad).await;
    let refusal = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&refusal), ["/due_within_days", "/stale_after_days", "/run_at"]);
    let unchanged: Value = admin.get("/api/reminders/settings").await.json().await.unwrap();
    assert_eq!(unchanged, settings);

    let put = |path: &str, body: Value| {
        let admin = admin.clone();
        let path = path.to_owned();
        async move { admin.send_json(Method::PUT, &path, None, &body).await }
    };
    let res = put("/api/reminders/channels/township/330599999", json!({"emails": ["a@b.cn"]})).await;
    problem(res, StatusCode::NOT_FOUND).await;
    let res = put("/api/reminders/channels/village/1", json!({"emails": ["a@b.cn"]})).await;
    problem(res, StatusCode::NOT_FOUND).await;
    let res = put(
        &format!("/api/reminders/channels/township/{MIDDLE}"),
        json!({"robot": {"kind": "wecom", "url": "javascript:alert(1)", "secret": "x"}, "emails": ["nobody"]}),
    )
    .await;
    let mut got = pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await);
    got.sort();
    assert_eq!(got, ["/emails", "/robot/secret", "/robot/url"]);
    let none: Vec<Value> = admin.get("/api/reminders/channels").await.json().await.unwrap();
    assert!(none.is_empty());
    // A department is a unit too; no robot and no address removes the unit's channels.
    let res = put("/api/reminders/channels/department/water", json!({"emails": ["water@example.cn"]})).await;
    assert_eq!(res.json::<Value>().await.unwrap()[0]["unit_name"], "水利局");
    let res = put("/api/reminders/channels/department/water", json!({"robot": null, "emails": []})).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
}

#[tokio::test]
async fn the_inbox_counts_unread_items_and_marks_them_read_for_each_reader() {
    let app = spawn_app().await;
    let l = ledger(&app).await;
    greenledger::reminders::run(&app.db, today(&app).await, &sender(|_| {})).await.unwrap();
    for message in ["第一次催办", "第二次催办"] {
        let res = app.post(&format!("/api/tasks/{}/chase", l.overdue_id), &json!({"message": message})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let own = app.login(&format!("township-{MIDDLE}")).await;
    let count: Value = own.get("/api/inbox/count").await.json().await.unwrap();
    assert_eq!(count["unread"], 3);
    let page: Value = own.get("/api/inbox?limit=2").await.json().await.unwrap();
    assert_eq!((page["items"].as_array().unwrap().len(), page["total"].as_i64()), (2, Some(3)));
    assert_eq!(page["items"][0]["message"], "第二次催办", "newest first");
    let rest: Value = own.get("/api/inbox?limit=2&offset=2").await.json().await.unwrap();
    assert_eq!(rest["items"][0]["kind"], "digest");

    let id = page["items"][0]["id"].as_str().unwrap();
    let res = own.post(&format!("/api/inbox/{id}/read"), &json!({})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["unread"], 2);
    // Another township's officer has no such item, and reading is per reader.
    let west = app.login(&format!("township-{WEST}")).await;
    problem(west.post(&format!("/api/inbox/{id}/read"), &json!({})).await, StatusCode::NOT_FOUND).await;
    let res = own.post("/api/inbox/read", &json!({})).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"unread": 0, "marked": 2}));
    let page: Value = own.get("/api/inbox").await.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().iter().all(|i| i["read"] == true));

    problem(own.get("/api/inbox?limit=0").await, StatusCode::BAD_REQUEST).await;
    problem(own.get("/api/inbox?page=2").await, StatusCode::BAD_REQUEST).await;
    problem(app.anonymous().get("/api/inbox/count").await, StatusCode::UNAUTHORIZED).await;
}
