//! Campaigns and their targets against an independent computation: a ledger built for the edge
//! cases (cancelled tasks, an internal task, a task moved between townships mid-year, tasks due in
//! another year or with no due date, a quantity in another unit, a township with a target and no
//! task), with every target's progress worked out again here from the rule the API states.

use std::collections::BTreeMap;

use crate::helpers::*;
use chrono::{Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const CAMPAIGN: &str = "gongjian";

pub fn county_today() -> NaiveDate {
    Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap()).date_naive()
}

/// The year the targets are for: the county's current year.
pub fn this_year() -> i32 {
    county_today().year()
}

fn ymd(year: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, m, d).unwrap()
}

/// One task of the ledger.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: &'static str,
    /// Where it is created.
    pub township: &'static str,
    pub category: &'static str,
    pub status: &'static str,
    pub due: Option<NaiveDate>,
    /// Days before today it was completed.
    pub completed_ago: Option<i64>,
    pub quantity: Option<(f64, &'static str)>,
    pub in_campaign: bool,
    pub internal: bool,
    pub supervised: bool,
    pub department: Option<&'static str>,
    /// The bureau moved it to this township after it was created.
    pub moved_to: Option<&'static str>,
    /// How many times the bureau returned its completion report.
    pub returns: i64,
    /// Days since its last report (or creation).
    pub quiet_days: i64,
}

impl Spec {
    pub fn township_now(&self) -> &'static str {
        self.moved_to.unwrap_or(self.township)
    }
    pub fn finished(&self) -> bool {
        matches!(self.status, "completed" | "verified")
    }
    pub fn open(&self) -> bool {
        matches!(self.status, "planned" | "in_progress")
    }
    pub fn completed_on(&self) -> Option<NaiveDate> {
        self.completed_ago.map(|d| county_today() - Duration::days(d))
    }
    pub fn due_in(&self, year: i32) -> bool {
        self.due.is_some_and(|d| d.year() == year)
    }
}

fn task(name: &'static str, township: &'static str, category: &'static str, status: &'static str) -> Spec {
    Spec {
        name,
        township,
        category,
        status,
        due: None,
        completed_ago: if matches!(status, "completed" | "verified") { Some(1) } else { None },
        quantity: None,
        in_campaign: true,
        internal: false,
        supervised: false,
        department: None,
        moved_to: None,
        returns: 0,
        quiet_days: 1,
    }
}

impl Spec {
    fn due(mut self, d: NaiveDate) -> Self {
        self.due = Some(d);
        self
    }
    fn done_ago(mut self, d: i64) -> Self {
        self.completed_ago = Some(d);
        self
    }
    fn qty(mut self, q: f64, unit: &'static str) -> Self {
        self.quantity = Some((q, unit));
        self
    }
    fn outside(mut self) -> Self {
        self.in_campaign = false;
        self
    }
    fn internal(mut self) -> Self {
        self.internal = true;
        self
    }
    fn supervised(mut self) -> Self {
        self.supervised = true;
        self
    }
    fn led_by(mut self, d: &'static str) -> Self {
        self.department = Some(d);
        self
    }
    fn moved(mut self, to: &'static str) -> Self {
        self.moved_to = Some(to);
        self
    }
    fn returned(mut self, n: i64) -> Self {
        self.returns = n;
        self
    }
    fn quiet(mut self, days: i64) -> Self {
        self.quiet_days = days;
        self
    }
}

/// The ledger. MIDDLE has targets and no task; the department `ecology` leads no task; `housing`
/// and `agriculture` lead one task each, alike in every figure (a tie).
pub fn ledger() -> Vec<Spec> {
    let y = this_year();
    vec![
        task("w-ver-1", WEST, "watershed", "verified").due(ymd(y, 6, 30)).done_ago(3).qty(4.0, "km"),
        task("w-ver-2", WEST, "watershed", "verified").due(ymd(y, 12, 31)).done_ago(2).qty(2.5, "km").internal(),
        task("w-comp", WEST, "watershed", "completed").due(ymd(y, 3, 31)).qty(1.5, "km").returned(1).led_by("water"),
        task("w-open-overdue", WEST, "watershed", "in_progress")
            .due(ymd(y, 1, 1))
            .supervised()
            .quiet(40)
            .led_by("water"),
        task("w-cancelled", WEST, "watershed", "cancelled").due(ymd(y, 5, 1)).qty(9.0, "km").supervised(),
        task("w-other-unit", WEST, "watershed", "verified").due(ymd(y, 7, 1)).qty(3.0, "m"),
        task("w-next-year", WEST, "watershed", "verified").due(ymd(y + 1, 2, 1)),
        task("w-not-campaign", WEST, "watershed", "verified").due(ymd(y, 6, 1)).qty(7.0, "km").outside(),
        task("w-no-due", WEST, "village", "verified"),
        task("w-village", WEST, "village", "completed").due(ymd(y, 9, 30)).returned(2).led_by("housing"),
        task("w-moved", WEST, "watershed", "verified").due(ymd(y, 4, 30)).qty(5.0, "km").moved(EAST).led_by("water"),
        task("e-ver", EAST, "watershed", "verified").due(ymd(y, 8, 31)).qty(6.0, "km"),
        task("e-open", EAST, "watershed", "planned").due(ymd(y, 12, 31)).quiet(2),
        task("e-chem-late", EAST, "chemical", "completed").due(ymd(y, 1, 1)).led_by("industry"),
        task("e-village", EAST, "village", "completed").due(ymd(y, 9, 30)).returned(2).led_by("agriculture"),
    ]
}

fn x_of(township: &str) -> f64 {
    match township {
        WEST => 119.85,
        MIDDLE => 119.95,
        _ => 120.05,
    }
}

/// Creates the campaign and the ledger through the API (the clock's and the workflow's traces set
/// directly, as the rollup tests do); the task ids by name.
pub async fn load(app: &TestApp, bureau: &Caller, specs: &[Spec]) -> BTreeMap<&'static str, String> {
    let y = this_year();
    let body = json!({"code": CAMPAIGN, "name_zh": "生态环境攻坚三年行动", "name_en": "Three-year drive",
                      "first_year": y, "last_year": y + 2});
    assert_eq!(bureau.post("/api/campaigns", &body).await.status(), StatusCode::CREATED);
    let mut ids = BTreeMap::new();
    let mut codes = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let mut props = json!({"title": s.name, "category": s.category, "status": s.status,
                               "visibility": if s.internal { "internal" } else { "public" }, "supervised": s.supervised});
        if let Some(d) = s.due {
            props["due_date"] = json!(d.to_string());
        }
        if let Some(c) = s.completed_on() {
            let at = FixedOffset::east_opt(8 * 3600).unwrap().from_local_datetime(&c.and_hms_opt(10, 0, 0).unwrap());
            props["completed_at"] = json!(at.unwrap().to_rfc3339());
        }
        if s.status == "cancelled" {
            props["cancel_reason"] = json!("企业已关停");
        }
        if let Some((q, unit)) = s.quantity {
            props["target_quantity"] = json!(q);
            props["target_unit"] = json!(unit);
        }
        let (id, etag, body) = bureau.create(&task_at(point(x_of(s.township), 30.75 + 0.01 * i as f64), props)).await;
        if let Some(to) = s.moved_to {
            let res = bureau.patch(&format!("/api/tasks/{id}"), &etag, &json!({"properties": {"township": to}})).await;
            assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
        }
        if s.in_campaign {
            codes.push(body["properties"]["code"].as_str().unwrap().to_owned());
        }
        backdate(app, &id, s).await;
        ids.insert(s.name, id);
    }
    let res = bureau.post(&format!("/api/campaigns/{CAMPAIGN}/tasks"), &json!({"join": codes})).await;
    assert_eq!(res.status(), StatusCode::OK);
    ids
}

/// What only time or the workflow would leave: the last report, the lead department, the returns.
async fn backdate(app: &TestApp, id: &str, s: &Spec) {
    let quiet = Utc::now() - Duration::days(s.quiet_days);
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.unwrap();
    sqlx::query("UPDATE tasks SET created_at = $2, last_report_at = $2, lead_department = $3 WHERE id = $1::uuid")
        .bind(id)
        .bind(quiet)
        .bind(s.department)
        .execute(&mut *tx)
        .await
        .unwrap();
    for _ in 0..s.returns {
        sqlx::query(
            "INSERT INTO task_events (task_id, kind, action, status_before, status_after, reason)
             VALUES ($1::uuid, 'transition', 'return', 'completed', 'in_progress', '照片不清晰')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// A target as the tests set it.
#[derive(Clone, Debug)]
pub struct TargetSpec {
    pub year: i32,
    pub township: &'static str,
    pub category: &'static str,
    pub count: Option<i64>,
    pub quantity: Option<(f64, &'static str)>,
    pub when_completed: bool,
}

pub fn targets() -> Vec<TargetSpec> {
    let y = this_year();
    let t = |township, category, count, quantity, when_completed| TargetSpec {
        year: y,
        township,
        category,
        count,
        quantity,
        when_completed,
    };
    vec![
        t(WEST, "watershed", Some(4), Some((10.0, "km")), false),
        t(WEST, "village", Some(1), None, true),
        t(EAST, "watershed", None, Some((8.0, "km")), false),
        t(EAST, "chemical", Some(1), None, true),
        t(MIDDLE, "watershed", Some(2), None, false),
        TargetSpec { year: y + 1, ..t(WEST, "watershed", Some(1), None, false) },
    ]
}

pub async fn set_targets(bureau: &Caller) {
    for t in targets() {
        let mut body = json!({"year": t.year, "township": t.township, "category": t.category,
                              "counted_when": if t.when_completed { "completed" } else { "verified" }});
        if let Some(n) = t.count {
            body["task_count"] = json!(n);
        }
        if let Some((q, u)) = t.quantity {
            body["quantity"] = json!(q);
            body["unit"] = json!(u);
        }
        let res = bureau.post(&format!("/api/campaigns/{CAMPAIGN}/targets"), &body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    }
}

/// A target's expected (planned, achieved, quantity planned, quantity achieved, rate), for a
/// reader who sees internal tasks or not.
pub fn expected(t: &TargetSpec, specs: &[Spec], sees_internal: bool) -> (i64, i64, f64, f64, Option<f64>) {
    let counted: Vec<&Spec> = specs
        .iter()
        .filter(|s| s.in_campaign && s.township_now() == t.township && s.category == t.category)
        .filter(|s| s.due_in(t.year) && s.status != "cancelled" && (sees_internal || !s.internal))
        .collect();
    let achieved = |s: &&&Spec| s.status == "verified" || (t.when_completed && s.status == "completed");
    let in_unit = |s: &&&Spec| t.quantity.is_some_and(|(_, u)| s.quantity.is_some_and(|(_, su)| su == u));
    let q = |s: &&Spec| s.quantity.map_or(0.0, |(q, _)| q);
    let planned = counted.len() as i64;
    let done = counted.iter().filter(achieved).count() as i64;
    let q_planned: f64 = counted.iter().filter(in_unit).map(q).sum();
    let q_done: f64 = counted.iter().filter(achieved).filter(in_unit).map(q).sum();
    let rates: Vec<f64> =
        [t.count.map(|n| done as f64 / n as f64), t.quantity.map(|(n, _)| q_done / n)].into_iter().flatten().collect();
    let rate = rates.iter().cloned().reduce(f64::min);
    (planned, done, q_planned, q_done, rate)
}

fn close(a: &Value, b: Option<f64>) -> bool {
    match (a.as_f64(), b) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        (None, None) => a.is_null(),
        _ => false,
    }
}

async fn check_targets(caller: &Caller, specs: &[Spec], sees_internal: bool) {
    let res = caller.get(&format!("/api/campaigns/{CAMPAIGN}/targets")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let got = body["targets"].as_array().unwrap();
    assert_eq!(got.len(), targets().len());
    let mut by_township: BTreeMap<(i32, &str), Vec<f64>> = BTreeMap::new();
    for t in targets() {
        let row = got
            .iter()
            .find(|r| r["year"] == t.year && r["township"] == t.township && r["category"] == t.category)
            .unwrap_or_else(|| panic!("a row for {t:?}"));
        let (planned, done, qp, qd, rate) = expected(&t, specs, sees_internal);
        assert_eq!(
            (row["tasks_planned"].as_i64(), row["tasks_achieved"].as_i64()),
            (Some(planned), Some(done)),
            "{t:?}"
        );
        assert!(close(&row["quantity_planned"], Some(qp)) && close(&row["quantity_achieved"], Some(qd)), "{row}");
        assert!(close(&row["rate"], rate), "{t:?}: {row} against {rate:?}");
        by_township.entry((t.year, t.township)).or_default().push(rate.unwrap().min(1.0));
    }
    for ((year, township), rates) in by_township {
        let row = body["townships"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["year"] == year && r["township"] == township)
            .unwrap();
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        assert!(close(&row["rate"], Some(mean)), "{row} against {mean}");
    }
}

#[tokio::test]
async fn progress_against_targets_is_counted_from_the_tasks_each_reader_sees() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let specs = ledger();
    load(&app, &bureau, &specs).await;
    set_targets(&bureau).await;
    check_targets(&bureau, &specs, true).await;
    check_targets(&app.anonymous(), &specs, false).await;
    // The moved task counts for EAST, where it is now, and no longer for WEST.
    let east = expected(&targets()[2], &specs, true);
    assert_eq!(east.3, 11.0, "e-ver (6 km) and w-moved (5 km)");
    // A township reads its own year's targets.
    let officer = app.login(&format!("township-{WEST}")).await;
    let y = this_year();
    let res = officer.get(&format!("/api/campaigns/{CAMPAIGN}/targets?year={y}&township={WEST}")).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["coverage"], "public_and_own_township");
    assert_eq!(body["targets"].as_array().unwrap().len(), 2);
    // The CSV export carries the same figures, the township's completion against target included.
    let csv = bureau.get(&format!("/api/campaigns/{CAMPAIGN}/targets.csv?year={y}")).await.text().await.unwrap();
    let west = targets()[0].clone();
    let (planned, done, qp, qd, rate) = expected(&west, &specs, true);
    let line = csv.lines().find(|l| l.starts_with(&format!("{y},{WEST},城东街道,watershed,"))).unwrap();
    assert!(line.ends_with(&format!(",{planned},{done},{qp},{qd},{:.4}", rate.unwrap())), "{line}");
    assert!(csv.lines().any(|l| l.starts_with(&format!("{y},{MIDDLE},青溪镇,合计,")) && l.ends_with(",0.0000")));
    // Cancelling a counted task takes it out at once: nothing is stored but the target.
    let ids = load_ids(&app).await;
    let res = bureau.transition(&ids["e-open"], "cancel", Some("重复立项")).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let mut after = specs.clone();
    after.iter_mut().find(|s| s.name == "e-open").unwrap().status = "cancelled";
    check_targets(&bureau, &after, true).await;
}

async fn load_ids(app: &TestApp) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT title, id::text FROM tasks").fetch_all(&app.db).await.unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn targets_are_refused_with_the_field_that_is_wrong() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let y = this_year();
    let c = json!({"code": CAMPAIGN, "name_zh": "攻坚", "name_en": "Drive", "first_year": y, "last_year": y + 2});
    assert_eq!(bureau.post("/api/campaigns", &c).await.status(), StatusCode::CREATED);
    problem(bureau.post("/api/campaigns", &c).await, StatusCode::CONFLICT).await;
    let path = format!("/api/campaigns/{CAMPAIGN}/targets");
    let cases = [
        (json!({"year": y + 3, "township": WEST, "category": "watershed", "task_count": 1}), "/year"),
        (json!({"year": y, "township": WEST, "category": "watershed", "quantity": 3}), "/unit"),
        (json!({"year": y, "township": WEST, "category": "watershed"}), "/task_count"),
        (json!({"year": y, "township": "330599999", "category": "watershed", "task_count": 1}), "/township"),
        (json!({"year": y, "township": WEST, "category": "nosuch", "task_count": 1}), "/category"),
        (json!({"year": y, "township": WEST, "category": "watershed", "task_count": 0}), "/task_count"),
    ];
    for (body, pointer) in cases {
        let p = problem(bureau.post(&path, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(pointers(&p), [pointer], "{body}");
    }
    let ok = json!({"year": y, "township": WEST, "category": "watershed", "task_count": 2});
    assert_eq!(bureau.post(&path, &ok).await.status(), StatusCode::CREATED);
    let p = problem(bureau.post(&path, &ok).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["errors"][0]["code"], "target_exists");
    // The campaign's years cannot leave out a year with targets.
    let res = bureau
        .send_json(reqwest::Method::PATCH, &format!("/api/campaigns/{CAMPAIGN}"), None, &json!({"first_year": y + 1}))
        .await;
    assert_eq!(problem(res, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["code"], "year_in_use");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM campaign_targets").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 1, "nothing refused was stored");
    // Only staff set targets; everyone reads them.
    let officer = app.login(&format!("township-{WEST}")).await;
    problem(officer.post(&path, &ok).await, StatusCode::FORBIDDEN).await;
    problem(app.anonymous().post(&path, &ok).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.anonymous().get(&path).await.status(), StatusCode::OK);
    problem(app.anonymous().get("/api/campaigns/nosuch/targets").await, StatusCode::NOT_FOUND).await;
    problem(app.anonymous().get(&format!("{path}?year=soon")).await, StatusCode::BAD_REQUEST).await;
    problem(app.anonymous().get("/api/campaigns/No%20Such/targets").await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn the_history_says_who_set_and_changed_each_target() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let admin = app.login("admin").await;
    let y = this_year();
    let c = json!({"code": CAMPAIGN, "name_zh": "攻坚", "name_en": "Drive", "first_year": y, "last_year": y});
    assert_eq!(bureau.post("/api/campaigns", &c).await.status(), StatusCode::CREATED);
    let path = format!("/api/campaigns/{CAMPAIGN}/targets");
    let res = bureau.post(&path, &json!({"year": y, "township": EAST, "category": "village", "task_count": 3})).await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let change =
        json!({"year": y, "township": EAST, "category": "village", "task_count": 5, "counted_when": "completed"});
    let res = admin.send_json(reqwest::Method::PUT, &format!("{path}/{id}"), None, &change).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = admin.request(reqwest::Method::DELETE, &format!("{path}/{id}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(
        admin.request(reqwest::Method::DELETE, &format!("{path}/{id}")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let history: Value = bureau.get(&format!("/api/campaigns/{CAMPAIGN}/history")).await.json().await.unwrap();
    let seen: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["actor"].as_str().unwrap().to_owned()))
        .collect();
    let want = [
        ("campaign_created", "bureau"),
        ("target_set", "bureau"),
        ("target_changed", "admin"),
        ("target_removed", "admin"),
    ];
    assert_eq!(seen, want.map(|(k, a)| (k.to_owned(), a.to_owned())));
    assert_eq!(history[2]["changes"]["before"]["task_count"], 3);
    assert_eq!(history[2]["changes"]["after"]["task_count"], 5);
    problem(app.anonymous().get(&format!("/api/campaigns/{CAMPAIGN}/history")).await, StatusCode::UNAUTHORIZED).await;
}
