//! The township rollup and the monthly series against an independent computation: a data set
//! built for the edge cases (ties, cancelled tasks, tasks without a due date, a river stretch across
//! a border, a township with no task at all, day boundaries in county time), and every figure
//! worked out again here in plain Rust from the same specification.

use std::collections::BTreeMap;

use crate::helpers::*;
use chrono::{Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

/// The county's time zone in the tests (Asia/Shanghai has had no daylight saving since 1991).
fn county() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn county_today() -> NaiveDate {
    Utc::now().with_timezone(&county()).date_naive()
}

#[derive(Clone, Debug)]
enum Shape {
    Point(f64, f64),
    Line(Vec<(f64, f64)>),
    /// west, south, east, north
    Box(f64, f64, f64, f64),
}

/// One task of the data set: offsets are days from today, times are county wall-clock times.
#[derive(Clone, Debug)]
struct Spec {
    name: &'static str,
    township: &'static str,
    category: &'static str,
    status: &'static str,
    due: Option<i64>,
    completed: Option<(i64, u32, u32)>,
    verified: Option<(i64, u32, u32)>,
    reported: Option<(i64, u32, u32)>,
    created: (i64, u32, u32),
    planned: Option<f64>,
    actual: Option<f64>,
    internal: bool,
    supervised: bool,
    shape: Shape,
}

fn spec(name: &'static str, township: &'static str, category: &'static str, status: &'static str) -> Spec {
    let x = match township {
        WEST => 119.85,
        MIDDLE => 119.95,
        _ => 120.05,
    };
    Spec {
        name,
        township,
        category,
        status,
        due: None,
        completed: None,
        verified: None,
        reported: None,
        created: (-1, 9, 0),
        planned: None,
        actual: None,
        internal: false,
        supervised: false,
        shape: Shape::Point(x, 30.75 + 0.01 * name.len() as f64),
    }
}

impl Spec {
    fn due(mut self, d: i64) -> Self {
        self.due = Some(d);
        self
    }
    fn completed(mut self, d: i64, h: u32, m: u32) -> Self {
        self.completed = Some((d, h, m));
        self
    }
    fn verified(mut self, d: i64, h: u32, m: u32) -> Self {
        self.verified = Some((d, h, m));
        self
    }
    fn reported(mut self, d: i64, h: u32, m: u32) -> Self {
        self.reported = Some((d, h, m));
        self
    }
    fn created(mut self, d: i64, h: u32, m: u32) -> Self {
        self.created = (d, h, m);
        self
    }
    fn money(mut self, planned: Option<f64>, actual: Option<f64>) -> Self {
        self.planned = planned;
        self.actual = actual;
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
    fn shape(mut self, s: Shape) -> Self {
        self.shape = s;
        self
    }
    fn is_open(&self) -> bool {
        matches!(self.status, "planned" | "in_progress")
    }
    fn is_finished(&self) -> bool {
        matches!(self.status, "completed" | "verified")
    }
}

fn day(today: NaiveDate, offset: i64) -> NaiveDate {
    today + Duration::days(offset)
}

fn instant(today: NaiveDate, (d, h, m): (i64, u32, u32)) -> chrono::DateTime<FixedOffset> {
    county().from_local_datetime(&day(today, d).and_hms_opt(h, m, 0).unwrap()).unwrap()
}

/// The data set. WEST and EAST have tasks, MIDDLE has none (the river stretch that starts in it
/// belongs to EAST, which holds most of it).
fn data_set() -> Vec<Spec> {
    vec![
        // Overdue by 10 days, never reported since its creation 40 days ago: stale.
        spec("w-overdue-stale", WEST, "watershed", "planned")
            .due(-10)
            .created(-40, 10, 0)
            .money(Some(100.5), None)
            .supervised(),
        // Last report 31 days ago, late in the evening: stale. Internal.
        spec("w-internal", WEST, "chemical", "in_progress").due(-3).reported(-31, 23, 59).created(-60, 8, 0).internal(),
        // Last report 30 days ago just after midnight: not yet stale.
        spec("w-boundary-report", WEST, "energy", "in_progress")
            .due(20)
            .reported(-30, 0, 1)
            .created(-90, 8, 0)
            .money(Some(50.0), Some(12.25)),
        // Completed on its due date at 23:59 county time (15:59 UTC): on time.
        spec("w-due-day", WEST, "watershed", "completed").due(-5).completed(-5, 23, 59).supervised(),
        // Completed at 00:30 county time the day after its due date (still the due date in UTC): late by 1.
        spec("w-after-midnight", WEST, "village", "completed").due(-8).completed(-7, 0, 30).money(None, Some(8.0)),
        // Late by 3, like w-internal: a tie in days late. Verified, so its supervision no longer counts.
        spec("w-verified-late", WEST, "watershed", "verified")
            .due(-20)
            .completed(-17, 10, 0)
            .verified(-45, 9, 0)
            .supervised()
            .money(Some(30.0), Some(29.99)),
        // Finished without a due date: neither on time nor late.
        spec("w-no-due-finished", WEST, "energy", "verified").completed(-2, 16, 0).verified(-1, 0, 30),
        // Cancelled: overdue, supervised, money and length would all count if it were not.
        spec("w-cancelled", WEST, "watershed", "cancelled")
            .due(-50)
            .created(-100, 8, 0)
            .money(Some(999.0), Some(10.0))
            .supervised()
            .internal()
            .shape(Shape::Line(vec![(119.81, 30.9), (119.83, 30.91)])),
        // Open without a due date, created two days ago: neither overdue nor stale.
        spec("w-no-due-open", WEST, "village", "planned").created(-2, 9, 0),
        // On the WEST/MIDDLE border: the tie goes to the lower code, WEST.
        spec("w-border", WEST, "chemical", "in_progress").due(-1).shape(Shape::Point(119.9, 30.85)),
        // An area, completed early.
        spec("w-area", WEST, "village", "completed")
            .due(5)
            .completed(-1, 12, 0)
            .shape(Shape::Box(119.82, 30.80, 119.83, 30.81))
            .money(Some(12.34), Some(5.67)),
        // A river stretch: 0.02° in MIDDLE, 0.05° in EAST; it belongs to EAST, whole.
        spec("e-crossing", EAST, "watershed", "in_progress")
            .due(-4)
            .reported(-2, 9, 0)
            .shape(Shape::Line(vec![(119.98, 30.8), (120.05, 30.8)])),
        spec("e-late-20", EAST, "chemical", "completed").due(-30).completed(-10, 11, 0).money(Some(200.0), Some(180.0)),
        spec("e-internal", EAST, "energy", "planned").due(-1).created(-35, 9, 0).internal().supervised(),
        spec("e-early", EAST, "village", "verified").due(10).completed(-15, 9, 0).verified(-3, 14, 0),
        spec("e-reported", EAST, "energy", "in_progress").due(-6).reported(-1, 8, 0).money(None, Some(33.33)),
    ]
}

fn geometry(s: &Shape) -> Value {
    match s {
        Shape::Point(x, y) => point(*x, *y),
        Shape::Line(v) => {
            json!({"type": "LineString", "coordinates": v.iter().map(|(x, y)| [x, y]).collect::<Vec<_>>()})
        }
        Shape::Box(w, s, e, n) => {
            json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
        }
    }
}

/// Creates the data set through the API, then sets the times only the workflow or the clock
/// would set (creation, last report, verification) directly.
async fn load(app: &TestApp, today: NaiveDate, specs: &[Spec]) {
    for s in specs {
        let mut props = json!({"title": s.name, "category": s.category, "status": s.status,
                               "visibility": if s.internal { "internal" } else { "public" },
                               "supervised": s.supervised});
        if let Some(d) = s.due {
            props["due_date"] = json!(day(today, d).to_string());
        }
        if let Some(c) = s.completed {
            props["completed_at"] = json!(instant(today, c).to_rfc3339());
        }
        if s.status == "cancelled" {
            props["cancel_reason"] = json!("企业已关停");
        }
        if let Some(p) = s.planned {
            props["planned_investment"] = json!(p);
        }
        if let Some(a) = s.actual {
            props["actual_investment"] = json!(a);
        }
        let (id, _, body) = app.create(&task_at(geometry(&s.shape), props)).await;
        assert_eq!(body["properties"]["township"], s.township, "{} belongs to {}", s.name, s.township);
        let mut tx = app.db.begin().await.unwrap();
        // The triggers keep created_at and fill verified_at with now(); a ledger's past needs both set.
        sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.unwrap();
        sqlx::query(
            "UPDATE tasks SET created_at = $2, last_report_at = $3, verified_at = coalesce($4, verified_at)
             WHERE id = $1::uuid",
        )
        .bind(&id)
        .bind(instant(today, s.created))
        .bind(s.reported.map(|r| instant(today, r)))
        .bind(s.verified.map(|v| instant(today, v)))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Who {
    Public,
    Township(&'static str),
    Staff,
}

impl Who {
    fn sees(&self, s: &Spec) -> bool {
        match self {
            Who::Public => !s.internal,
            Who::Township(code) => !s.internal || s.township == *code,
            Who::Staff => true,
        }
    }
}

#[derive(Default, Clone)]
struct Filter {
    categories: Option<Vec<&'static str>>,
    statuses: Option<Vec<&'static str>>,
    supervised: Option<bool>,
    from: Option<i64>,
    to: Option<i64>,
}

impl Filter {
    fn query(&self, today: NaiveDate) -> String {
        let mut q = Vec::new();
        if let Some(c) = &self.categories {
            q.push(format!("category={}", c.join(",")));
        }
        if let Some(s) = &self.statuses {
            q.push(format!("status={}", s.join(",")));
        }
        if let Some(s) = self.supervised {
            q.push(format!("supervised={s}"));
        }
        if let Some(f) = self.from {
            q.push(format!("from={}", day(today, f)));
        }
        if let Some(t) = self.to {
            q.push(format!("to={}", day(today, t)));
        }
        q.join("&")
    }

    fn in_period(&self, today: NaiveDate, d: Option<NaiveDate>) -> bool {
        let Some(d) = d else { return false };
        self.from.is_none_or(|f| d >= day(today, f)) && self.to.is_none_or(|t| d <= day(today, t))
    }

    fn admits(&self, today: NaiveDate, s: &Spec) -> bool {
        self.categories.as_ref().is_none_or(|c| c.contains(&s.category))
            && self.statuses.as_ref().is_none_or(|st| st.contains(&s.status))
            && self.supervised.is_none_or(|v| v == s.supervised)
            && (self.from.is_none() && self.to.is_none()
                || self.in_period(today, s.due.map(|d| day(today, d)))
                || self.in_period(today, s.completed.map(|c| day(today, c.0))))
    }
}

/// WGS 84 geodesic distance in metres (Vincenty's inverse formula).
fn geodesic_m((lon1, lat1): (f64, f64), (lon2, lat2): (f64, f64)) -> f64 {
    let a = 6_378_137.0;
    let f = 1.0 / 298.257_223_563;
    let b = a * (1.0 - f);
    let l = (lon2 - lon1).to_radians();
    let u1 = ((1.0 - f) * lat1.to_radians().tan()).atan();
    let u2 = ((1.0 - f) * lat2.to_radians().tan()).atan();
    let (su1, cu1) = u1.sin_cos();
    let (su2, cu2) = u2.sin_cos();
    let mut lambda = l;
    let (mut sin_s, mut cos_s, mut sigma, mut cos2a, mut cos2sm) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for _ in 0..200 {
        let (sl, cl) = lambda.sin_cos();
        sin_s = ((cu2 * sl).powi(2) + (cu1 * su2 - su1 * cu2 * cl).powi(2)).sqrt();
        cos_s = su1 * su2 + cu1 * cu2 * cl;
        sigma = sin_s.atan2(cos_s);
        let sin_a = cu1 * cu2 * sl / sin_s;
        cos2a = 1.0 - sin_a * sin_a;
        cos2sm = if cos2a != 0.0 { cos_s - 2.0 * su1 * su2 / cos2a } else { 0.0 };
        let c = f / 16.0 * cos2a * (4.0 + f * (4.0 - 3.0 * cos2a));
        let previous = lambda;
        lambda =
            l + (1.0 - c) * f * sin_a * (sigma + c * sin_s * (cos2sm + c * cos_s * (-1.0 + 2.0 * cos2sm * cos2sm)));
        if (lambda - previous).abs() < 1e-13 {
            break;
        }
    }
    let u_sq = cos2a * (a * a - b * b) / (b * b);
    let big_a = 1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)));
    let big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)));
    let delta = big_b
        * sin_s
        * (cos2sm
            + big_b / 4.0
                * (cos_s * (-1.0 + 2.0 * cos2sm * cos2sm)
                    - big_b / 6.0 * cos2sm * (-3.0 + 4.0 * sin_s * sin_s) * (-3.0 + 4.0 * cos2sm * cos2sm)));
    b * big_a * (sigma - delta)
}

/// WGS 84 area in m² of the quadrangle between two meridians and two parallels.
fn quadrangle_m2(w: f64, s: f64, e: f64, n: f64) -> f64 {
    let a = 6_378_137.0_f64;
    let f = 1.0 / 298.257_223_563;
    let b = a * (1.0 - f);
    let ecc = (1.0 - (b * b) / (a * a)).sqrt();
    let q = |lat: f64| {
        let sp = lat.to_radians().sin();
        sp / (1.0 - ecc * ecc * sp * sp) + (1.0 / (2.0 * ecc)) * ((1.0 + ecc * sp) / (1.0 - ecc * sp)).ln()
    };
    (e - w).to_radians() * b * b / 2.0 * (q(n) - q(s))
}

/// The figures worked out from the specification alone.
#[derive(Debug, Default)]
struct Expected {
    tasks: i64,
    by_status: BTreeMap<&'static str, i64>,
    by_category: BTreeMap<&'static str, i64>,
    overdue: i64,
    finished: i64,
    verified: i64,
    cancelled: i64,
    on_time: i64,
    days_late: Vec<i64>,
    planned: f64,
    actual: f64,
    stale: i64,
    supervised: i64,
    length_m: f64,
    area_m2: f64,
}

fn expect(today: NaiveDate, specs: &[&Spec]) -> Expected {
    let mut x = Expected::default();
    for c in ["watershed", "chemical", "energy", "village"] {
        x.by_category.insert(c, 0);
    }
    for s in specs {
        x.tasks += 1;
        *x.by_status.entry(s.status).or_default() += 1;
        *x.by_category.entry(s.category).or_default() += 1;
        let due = s.due.map(|d| day(today, d));
        if s.status == "cancelled" {
            x.cancelled += 1;
            continue;
        }
        if s.status == "verified" {
            x.verified += 1;
        }
        if s.is_finished() {
            x.finished += 1;
            let done = day(today, s.completed.unwrap().0);
            if let Some(due) = due {
                if done <= due {
                    x.on_time += 1;
                } else {
                    x.days_late.push((done - due).num_days());
                }
            }
        }
        if s.is_open() {
            if let Some(due) = due.filter(|d| *d < today) {
                x.overdue += 1;
                x.days_late.push((today - due).num_days());
            }
            let last = instant(today, s.reported.unwrap_or(s.created)).date_naive();
            if (today - last).num_days() > 30 {
                x.stale += 1;
            }
        }
        if s.supervised && s.status != "verified" {
            x.supervised += 1;
        }
        x.planned += s.planned.unwrap_or(0.0);
        x.actual += s.actual.unwrap_or(0.0);
        match &s.shape {
            Shape::Line(v) => x.length_m += v.windows(2).map(|p| geodesic_m(p[0], p[1])).sum::<f64>(),
            Shape::Box(w, so, e, n) => x.area_m2 += quadrangle_m2(*w, *so, *e, *n),
            Shape::Point(..) => {}
        }
    }
    x
}

fn median(v: &[i64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort();
    let n = v.len();
    if n == 0 {
        None
    } else if n % 2 == 1 {
        Some(v[n / 2] as f64)
    } else {
        Some((v[n / 2 - 1] + v[n / 2]) as f64 / 2.0)
    }
}

fn close(got: &Value, want: f64, tolerance: f64, what: &str) {
    let g = got.as_f64().unwrap_or_else(|| panic!("{what}: expected a number, got {got}"));
    assert!((g - want).abs() <= tolerance, "{what}: got {g}, expected {want}");
}

fn rate(got: &Value, part: i64, whole: i64, what: &str) {
    if whole == 0 {
        assert!(got.is_null(), "{what}: expected null, got {got}");
    } else {
        close(got, part as f64 / whole as f64, 1e-12, what);
    }
}

fn check(row: &Value, x: &Expected, what: &str) {
    let n = |k: &str| row[k].as_i64().unwrap_or_else(|| panic!("{what}: {k} is not an integer: {row}"));
    assert_eq!(n("tasks"), x.tasks, "{what}: tasks");
    for status in ["planned", "in_progress", "completed", "verified", "cancelled"] {
        assert_eq!(row["by_status"][status], x.by_status.get(status).copied().unwrap_or(0), "{what}: {status}");
    }
    let cats: BTreeMap<String, i64> = serde_json::from_value(row["by_category"].clone()).unwrap();
    let want: BTreeMap<String, i64> = x.by_category.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(cats, want, "{what}: by_category");
    let not_cancelled = x.tasks - x.cancelled;
    assert_eq!(n("not_cancelled"), not_cancelled, "{what}: not_cancelled");
    assert_eq!(n("finished"), x.finished, "{what}: finished");
    rate(&row["completion_rate"], x.finished, not_cancelled, &format!("{what}: completion_rate"));
    rate(&row["verified_rate"], x.verified, not_cancelled, &format!("{what}: verified_rate"));
    assert_eq!(n("overdue"), x.overdue, "{what}: overdue");
    assert_eq!(n("finished_on_time"), x.on_time, "{what}: finished_on_time");
    assert_eq!(n("late"), x.days_late.len() as i64, "{what}: late");
    rate(&row["on_time_rate"], x.on_time, x.on_time + x.days_late.len() as i64, &format!("{what}: on_time_rate"));
    match median(&x.days_late) {
        Some(m) => close(&row["median_days_late"], m, 1e-12, &format!("{what}: median_days_late")),
        None => assert!(row["median_days_late"].is_null(), "{what}: median_days_late {}", row["median_days_late"]),
    }
    close(&row["planned_investment"], x.planned, 1e-9, &format!("{what}: planned_investment"));
    close(&row["actual_investment"], x.actual, 1e-9, &format!("{what}: actual_investment"));
    assert_eq!(n("stale"), x.stale, "{what}: stale");
    assert_eq!(n("supervised"), x.supervised, "{what}: supervised");
    // PostGIS measures geodesics with Karney's method and rounds to metres / m²; these formulas
    // agree with it to well under a metre here.
    close(&row["length_km"], x.length_m / 1000.0, 0.002, &format!("{what}: length_km"));
    close(&row["area_ha"], x.area_m2 / 10_000.0, 0.01, &format!("{what}: area_ha"));
}

async fn rollup_as(caller: &Caller, query: &str) -> Value {
    let res = caller.get(&format!("/api/rollups/townships?{query}")).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn every_figure_matches_an_independent_computation_for_every_viewer_and_filter() {
    let app = spawn_app().await;
    let today = county_today();
    let specs = data_set();
    load(&app, today, &specs).await;
    let callers = [
        (Who::Staff, app.bureau.clone(), "all"),
        (Who::Public, app.anonymous(), "public"),
        (Who::Township(WEST), app.login(&format!("township-{WEST}")).await, "public_and_own_township"),
    ];
    let filters = [
        Filter::default(),
        Filter { categories: Some(vec!["watershed", "energy"]), ..Default::default() },
        Filter { statuses: Some(vec!["planned", "in_progress"]), ..Default::default() },
        Filter { supervised: Some(true), ..Default::default() },
        Filter { from: Some(-10), to: Some(-3), ..Default::default() },
        Filter { from: Some(-6), ..Default::default() },
        Filter { to: Some(-8), ..Default::default() },
        Filter { categories: Some(vec!["watershed"]), from: Some(-20), supervised: Some(false), ..Default::default() },
    ];
    for (who, caller, coverage) in &callers {
        for f in &filters {
            let query = f.query(today);
            let body = rollup_as(caller, &query).await;
            assert_eq!(body["as_of"], today.to_string(), "today in the county");
            assert_eq!(body["coverage"], *coverage);
            let rows = body["townships"].as_array().unwrap();
            let codes: Vec<&str> = rows.iter().map(|r| r["township_code"].as_str().unwrap()).collect();
            assert_eq!(codes, [WEST, MIDDLE, EAST], "every township, the empty one included, in code order");
            let seen: Vec<&Spec> = specs.iter().filter(|s| who.sees(s) && f.admits(today, s)).collect();
            for row in rows {
                let code = row["township_code"].as_str().unwrap();
                let mine: Vec<&Spec> = seen.iter().copied().filter(|s| s.township == code).collect();
                check(row, &expect(today, &mine), &format!("{coverage} ?{query} township {code}"));
            }
            assert!(body["county"]["township_code"].is_null());
            assert_eq!(body["county"]["township_name"], "全县");
            check(&body["county"], &expect(today, &seen), &format!("{coverage} ?{query} county"));
        }
    }

    // The cases the data set was built for, spelt out once.
    let all = rollup_as(&app.bureau, "").await;
    let west = &all["townships"][0];
    assert_eq!(west["township_name"], "城东街道");
    assert_eq!(west["median_days_late"], 3.0, "late by 10, 3, 1, 3 and 1 days");
    assert_eq!(west["stale"], 2);
    assert_eq!(west["finished_on_time"], 2, "the due-day completion at 23:59 and the early area");
    let middle = &all["townships"][1];
    assert_eq!((middle["tasks"].as_i64(), middle["length_km"].as_f64()), (Some(0), Some(0.0)));
    assert!(middle["completion_rate"].is_null() && middle["median_days_late"].is_null());
    let public = rollup_as(&app.anonymous(), "").await;
    assert_eq!(public["townships"][0]["median_days_late"], 2.0, "an even count: the mean of 1 and 3");
    assert_eq!(public["townships"][2]["median_days_late"], 6.0);
    assert_eq!(all["townships"][2]["median_days_late"], 5.0, "the mean of 4 and 6");
}

#[tokio::test]
async fn the_choropleth_carries_the_same_figures_on_the_township_boundaries() {
    let app = spawn_app().await;
    let today = county_today();
    load(&app, today, &data_set()).await;
    for caller in [app.bureau.clone(), app.anonymous()] {
        let table = rollup_as(&caller, "category=watershed").await;
        let res = caller.get("/api/rollups/townships.geojson?category=watershed").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/geo+json");
        let fc: Value = res.json().await.unwrap();
        assert_eq!(fc["type"], "FeatureCollection");
        let features = fc["features"].as_array().unwrap();
        assert_eq!(features.len(), 3);
        for (feature, row) in features.iter().zip(table["townships"].as_array().unwrap()) {
            assert_eq!(feature["type"], "Feature");
            assert_eq!(feature["id"], row["township_code"]);
            assert_eq!(feature["geometry"]["type"], "MultiPolygon");
            assert_eq!(&feature["properties"], row);
        }
        assert_eq!(fc["county"], table["county"]);
        assert_eq!(fc["coverage"], table["coverage"]);
    }
}

fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

#[tokio::test]
async fn monthly_series_count_completions_and_verifications_by_county_month() {
    let app = spawn_app().await;
    let today = county_today();
    let specs = data_set();
    load(&app, today, &specs).await;
    for (who, caller) in [(Who::Staff, app.bureau.clone()), (Who::Public, app.anonymous())] {
        for township in [None, Some(WEST), Some(EAST), Some(MIDDLE)] {
            let query = township.map(|t| format!("township={t}")).unwrap_or_default();
            let res = caller.get(&format!("/api/rollups/monthly?{query}")).await;
            let body: Value = res.json().await.unwrap();
            let mine: Vec<&Spec> =
                specs.iter().filter(|s| who.sees(s) && township.is_none_or(|t| s.township == t)).collect();
            let mut want: BTreeMap<String, (i64, i64)> = BTreeMap::new();
            for s in &mine {
                if s.is_finished() {
                    want.entry(month_of(instant(today, s.completed.unwrap()).date_naive())).or_default().0 += 1;
                }
                if s.status == "verified" {
                    want.entry(month_of(instant(today, s.verified.unwrap()).date_naive())).or_default().1 += 1;
                }
            }
            let got: BTreeMap<String, (i64, i64)> = body["months"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["month"].as_str().unwrap().to_owned(),
                        (m["completed"].as_i64().unwrap(), m["verified"].as_i64().unwrap()),
                    )
                })
                .filter(|(_, c)| *c != (0, 0))
                .collect();
            assert_eq!(got, want, "{query}");
            // No gaps between the first and the last month.
            let months: Vec<&str> =
                body["months"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect();
            if let (Some(first), Some(last)) = (want.keys().next(), want.keys().next_back()) {
                assert_eq!(
                    (months.first().copied(), months.last().copied()),
                    (Some(first.as_str()), Some(last.as_str()))
                );
                let span = |m: &str| m[..4].parse::<i32>().unwrap() * 12 + m[5..].parse::<i32>().unwrap();
                assert_eq!(months.len() as i32, span(last) - span(first) + 1, "{query}");
            } else {
                assert!(months.is_empty(), "{query}: {body}");
            }
            let name = match township {
                Some(WEST) => "城东街道",
                Some(MIDDLE) => "青溪镇",
                Some(_) => "清源经济开发区",
                None => "全县",
            };
            assert_eq!(body["township_name"], name);
            assert_eq!(body["township_code"], township.map_or(Value::Null, Value::from));
        }
    }
    // A period bounds the events and fixes the months shown.
    let from = day(today, -16);
    let to = day(today, -2);
    let body: Value = app.get(&format!("/api/rollups/monthly?from={from}&to={to}")).await.json().await.unwrap();
    let completed: i64 = body["months"].as_array().unwrap().iter().map(|m| m["completed"].as_i64().unwrap()).sum();
    let want = specs
        .iter()
        .filter(|s| s.completed.is_some_and(|c| (from..=to).contains(&instant(today, c).date_naive())))
        .count();
    assert_eq!(completed, want as i64);
    assert_eq!(body["months"][0]["month"], month_of(from));
}

#[tokio::test]
async fn bad_rollup_queries_are_400s_naming_the_parameter() {
    let app = spawn_app().await;
    for (path, param) in [
        ("/api/rollups/townships?catgory=energy", "catgory"),
        ("/api/rollups/townships?category=mining", "category"),
        ("/api/rollups/townships?from=2026-02-30", "from"),
        ("/api/rollups/townships?from=2026-06-01&to=2026-05-01", "to"),
        ("/api/rollups/townships?supervised=yes", "supervised"),
        ("/api/rollups/townships?township=330599001", "township"),
        ("/api/rollups/townships.geojson?status=done", "status"),
        ("/api/rollups/monthly?township=330599999", "township"),
        ("/api/rollups/monthly?township=east", "township"),
        ("/api/rollups/monthly?bbox=1,2,3,4", "bbox"),
    ] {
        let body = problem(app.anonymous().get(path).await, reqwest::StatusCode::BAD_REQUEST).await;
        assert_eq!(pointers(&body), [param], "{path}: {body}");
    }
}

#[tokio::test]
async fn the_api_description_defines_every_figure() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for path in ["/api/rollups/townships", "/api/rollups/townships.geojson", "/api/rollups/monthly"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} is described");
    }
    let figures = &doc["components"]["schemas"]["Figures"]["properties"];
    for (name, says) in [
        ("completion_rate", "not_cancelled"),
        ("on_time_rate", "open-and-overdue"),
        ("median_days_late", "today − due date"),
        ("stale", "30 days"),
        ("supervised", "neither verified nor cancelled"),
        ("length_km", "not cancelled"),
    ] {
        let d = figures[name]["description"].as_str().unwrap_or_default();
        assert!(d.contains(says), "{name}: {d}");
    }
}

#[tokio::test]
async fn a_busy_pool_gives_the_same_rollup_on_one_connection() {
    use greenledger::domain::access::Viewer;
    use greenledger::domain::rollup::RollupFilter;
    let app = spawn_app().await;
    let today = county_today();
    load(&app, today, &data_set()).await;
    // One connection only: the second statement cannot get its own and runs after the first.
    let options = (*app.db.connect_options()).clone();
    let single = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("SET TIME ZONE 'Asia/Shanghai'").execute(conn).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options);
    for viewer in [Viewer::Staff, Viewer::Public, Viewer::Township(WEST.into())] {
        let two = greenledger::store::rollups::townships(&app.db, &RollupFilter::default(), &viewer).await.unwrap();
        let one = greenledger::store::rollups::townships(&single, &RollupFilter::default(), &viewer).await.unwrap();
        assert_eq!(one, two, "{viewer:?}");
        assert!(two.1.county.late > 0);
    }
}
