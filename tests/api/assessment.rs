//! Assessment against an independent computation over the campaign ledger of `campaigns` (a
//! cancelled task, a task moved between townships mid-year, a township with targets and no task, a
//! department with no task, two departments alike in every figure): every unit's score worked out
//! again here from the rules the API states, then frozen, changed under it, and frozen again.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::campaigns::{CAMPAIGN, Spec, county_today, expected, ledger, load, set_targets, targets, this_year};
use crate::helpers::*;

fn scheme() -> Value {
    json!({"indicators": [
        {"indicator": "target_completion", "weight": 40},
        {"indicator": "on_time_rate", "weight": 30},
        {"indicator": "verified_rate", "weight": 30},
        {"indicator": "overdue", "per_task": 5, "cap": 8},
        {"indicator": "supervised", "per_task": 2, "cap": 10},
        {"indicator": "returned", "per_task": 1.5, "cap": 3},
        {"indicator": "stale", "per_task": 4, "cap": 4},
    ]})
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The score of the unit whose tasks `of` picks, by the stated rules; None without tasks.
fn expected_score(specs: &[Spec], of: impl Fn(&Spec) -> bool, target_rate: Option<f64>) -> Option<f64> {
    let y = this_year();
    let today = county_today();
    let mine: Vec<&Spec> =
        specs.iter().filter(|s| s.in_campaign && s.due_in(y) && s.status != "cancelled" && of(s)).collect();
    if mine.is_empty() {
        return None;
    }
    let n = mine.len() as f64;
    let on_time = mine.iter().filter(|s| s.finished() && s.completed_on().unwrap() <= s.due.unwrap()).count() as f64;
    let overdue = mine.iter().filter(|s| s.open() && s.due.unwrap() < today).count() as f64;
    let base = mine.iter().filter(|s| s.finished()).count() as f64 + overdue;
    let verified = mine.iter().filter(|s| s.status == "verified").count() as f64;
    let supervised = mine.iter().filter(|s| s.supervised && s.status != "verified").count() as f64;
    let stale = mine.iter().filter(|s| s.open() && s.quiet_days > 30).count() as f64;
    let returned: f64 = mine.iter().map(|s| s.returns as f64).sum();
    let rates = [(40.0, target_rate), (30.0, (base > 0.0).then(|| on_time / base)), (30.0, Some(verified / n))];
    let weights: f64 = rates.iter().filter(|(_, r)| r.is_some()).map(|(w, _)| w).sum();
    let mut total: f64 = rates.iter().filter_map(|(w, r)| r.map(|r| round2(w * 100.0 / weights * r.min(1.0)))).sum();
    for (count, per, cap) in [(overdue, 5.0, 8.0), (supervised, 2.0, 10.0), (returned, 1.5, 3.0), (stale, 4.0, 4.0)] {
        total -= round2(f64::min(count * per, cap));
    }
    Some(round2(total.max(0.0)))
}

fn township_target_rate(specs: &[Spec], township: &str) -> Option<f64> {
    let rates: Vec<f64> = targets()
        .iter()
        .filter(|t| t.year == this_year() && t.township == township)
        .map(|t| expected(t, specs, true).4.unwrap().min(1.0))
        .collect();
    (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
}

/// (code, expected score) of every unit.
fn expected_units(specs: &[Spec]) -> Vec<(&'static str, Option<f64>)> {
    let mut out = Vec::new();
    for t in [WEST, MIDDLE, EAST] {
        out.push((t, expected_score(specs, |s| s.township_now() == t, township_target_rate(specs, t))));
    }
    for d in ["water", "housing", "agriculture", "industry", "ecology"] {
        out.push((d, expected_score(specs, |s| s.department == Some(d), None)));
    }
    out
}

/// Competition ranks (1, 1, 3) of the scored units within each kind.
fn expected_ranks(units: &[(&'static str, Option<f64>)]) -> BTreeMap<&'static str, Option<i64>> {
    let mut out = BTreeMap::new();
    for kind in [&units[..3], &units[3..]] {
        for (code, score) in kind {
            let rank = score.map(|s| 1 + kind.iter().filter(|(_, o)| o.is_some_and(|o| o > s)).count() as i64);
            out.insert(*code, rank);
        }
    }
    out
}

fn check(result: &Value, specs: &[Spec]) {
    let units = expected_units(specs);
    let ranks = expected_ranks(&units);
    let got: Vec<&Value> =
        result["townships"].as_array().unwrap().iter().chain(result["departments"].as_array().unwrap()).collect();
    assert_eq!(got.len(), units.len());
    for (code, score) in &units {
        let u = got.iter().find(|u| u["code"] == *code).unwrap_or_else(|| panic!("no unit {code}"));
        assert_eq!(u["score"].as_f64(), *score, "{code}: {u}");
        assert_eq!(u["rank"].as_i64(), ranks[code], "{code}");
        let explained: f64 = u["lines"].as_array().unwrap().iter().map(|l| l["points"].as_f64().unwrap()).sum();
        if let Some(s) = score {
            assert!((round2(explained.max(0.0)) - s).abs() < 1e-9, "{code}: the lines add up to the score");
        }
    }
}

async fn codes(app: &TestApp) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT title, code FROM tasks").fetch_all(&app.db).await.unwrap();
    rows.into_iter().collect()
}

#[tokio::test]
async fn scores_follow_the_scheme_and_a_frozen_result_never_moves() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let mut specs = ledger();
    load(&app, &bureau, &specs).await;
    set_targets(&bureau).await;
    let y = this_year();
    let base = format!("/api/campaigns/{CAMPAIGN}/years/{y}");
    let res = bureau.send_json(reqwest::Method::PUT, &format!("{base}/scheme"), None, &scheme()).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    // Nothing is published until a result is frozen.
    problem(app.anonymous().get(&format!("{base}/assessment")).await, StatusCode::NOT_FOUND).await;
    let draft: Value = bureau.get(&format!("{base}/assessment?version=draft")).await.json().await.unwrap();
    assert_eq!(draft["state"], "draft");
    check(&draft, &specs);
    // The tie, the department with no task, and the explanation of a penalty by its tasks.
    let units = expected_units(&specs);
    let score = |c: &str| units.iter().find(|(k, _)| *k == c).unwrap().1;
    assert_eq!(score("housing"), score("agriculture"));
    assert_eq!(score("ecology"), None);
    let c = codes(&app).await;
    let west = draft["townships"].as_array().unwrap().iter().find(|u| u["code"] == WEST).unwrap();
    let overdue = west["lines"].as_array().unwrap().iter().find(|l| l["indicator"] == "overdue").unwrap();
    assert_eq!(overdue["tasks"], json!([c["w-open-overdue"]]));
    let returned = west["lines"].as_array().unwrap().iter().find(|l| l["indicator"] == "returned").unwrap();
    assert_eq!(returned["tasks"].as_array().unwrap().len(), 3, "w-comp once and w-village twice");

    let res = bureau.post(&format!("{base}/assessment"), &json!({"reason": "年度考核定稿"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v1: Value = app.anonymous().get(&format!("{base}/assessment")).await.json().await.unwrap();
    assert_eq!(
        (v1["state"].as_str(), v1["version"].as_i64(), v1["frozen_by"].as_str()),
        (Some("frozen"), Some(1), Some("bureau"))
    );
    check(&v1, &specs);

    // The tasks change: the draft follows, the frozen result does not.
    let ids: BTreeMap<String, String> =
        sqlx::query_as("SELECT title, id::text FROM tasks").fetch_all(&app.db).await.unwrap().into_iter().collect();
    assert_eq!(bureau.transition(&ids["w-comp"], "verify", Some("现场核查")).await.status(), StatusCode::OK);
    specs.iter_mut().find(|s| s.name == "w-comp").unwrap().status = "verified";
    check(&bureau.get(&format!("{base}/assessment?version=draft")).await.json::<Value>().await.unwrap(), &specs);
    let still: Value = app.anonymous().get(&format!("{base}/assessment")).await.json().await.unwrap();
    assert_eq!(still, v1);
    let refused = sqlx::query("UPDATE assessment_results SET reason = 'x'").execute(&app.db).await;
    assert!(refused.is_err(), "the database refuses to change a frozen result");

    // A recomputation is a new version with its reason; the first stays readable.
    problem(bureau.post(&format!("{base}/assessment"), &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = bureau.post(&format!("{base}/assessment"), &json!({"reason": "w-comp 核验后重新计算"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v2: Value = app.anonymous().get(&format!("{base}/assessment")).await.json().await.unwrap();
    assert_eq!(v2["version"], 2);
    check(&v2, &specs);
    assert_eq!(app.anonymous().get(&format!("{base}/assessment?version=1")).await.json::<Value>().await.unwrap(), v1);
    let versions: Value = app.anonymous().get(&format!("{base}/assessment/versions")).await.json().await.unwrap();
    assert_eq!(versions[0]["reason"], "w-comp 核验后重新计算");
    let history: Value = bureau.get(&format!("/api/campaigns/{CAMPAIGN}/history")).await.json().await.unwrap();
    let frozen: Vec<&Value> = history.as_array().unwrap().iter().filter(|e| e["kind"] == "result_frozen").collect();
    assert_eq!((frozen.len(), frozen[1]["reason"].as_str()), (2, Some("w-comp 核验后重新计算")));
}

#[tokio::test]
async fn drafts_are_for_staff_and_schemes_are_checked() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let y = this_year();
    let c = json!({"code": CAMPAIGN, "name_zh": "攻坚", "name_en": "Drive", "first_year": y, "last_year": y});
    assert_eq!(bureau.post("/api/campaigns", &c).await.status(), StatusCode::CREATED);
    let base = format!("/api/campaigns/{CAMPAIGN}/years/{y}");
    problem(app.anonymous().get(&format!("{base}/assessment?version=draft")).await, StatusCode::UNAUTHORIZED).await;
    let officer = app.login(&format!("township-{WEST}")).await;
    problem(officer.get(&format!("{base}/assessment?version=draft")).await, StatusCode::FORBIDDEN).await;
    problem(officer.post(&format!("{base}/assessment"), &json!({"reason": "x"})).await, StatusCode::FORBIDDEN).await;
    problem(app.anonymous().get(&format!("{base}/assessment?version=maybe")).await, StatusCode::BAD_REQUEST).await;
    problem(
        app.anonymous().get(&format!("/api/campaigns/{CAMPAIGN}/years/{}/scheme", y + 1)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The default scheme applies until one is set.
    let s: Value = app.anonymous().get(&format!("{base}/scheme")).await.json().await.unwrap();
    assert_eq!((s["set"].as_bool(), s["indicators"].as_array().map(Vec::len)), (Some(false), Some(7)));
    let bad =
        json!({"indicators": [{"indicator": "on_time_rate", "weight": 70}, {"indicator": "overdue", "per_task": 2}]});
    let p = problem(
        bureau.send_json(reqwest::Method::PUT, &format!("{base}/scheme"), None, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&p), ["/indicators/1/cap"]);
    let short = json!({"indicators": [{"indicator": "on_time_rate", "weight": 70}]});
    let p = problem(
        bureau.send_json(reqwest::Method::PUT, &format!("{base}/scheme"), None, &short).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "weights_sum");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM assessment_schemes").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, 0);
    // A year with no task at all: every unit listed, none ranked; the workbook has a sheet per indicator.
    let draft: Value = bureau.get(&format!("{base}/assessment?version=draft")).await.json().await.unwrap();
    assert!(draft["departments"].as_array().unwrap().iter().all(|u| u["rank"].is_null() && u["tasks"] == 0));
    let res = bureau.get(&format!("{base}/assessment.xlsx?version=draft")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let book = Xlsx::new(Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    let names = book.sheet_names();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(names[0], "排名");
    // Freezing is retry-safe: the same Idempotency-Key freezes once and answers the first version.
    let key = new_key();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let res = bureau
            .request(reqwest::Method::POST, &format!("{base}/assessment"))
            .header("idempotency-key", &key)
            .json(&json!({"reason": "定稿"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        answers.push(res.json::<Value>().await.unwrap());
    }
    assert_eq!((answers[0]["version"].as_i64(), &answers[0]), (Some(1), &answers[1]));
    let versions: Value = app.anonymous().get(&format!("{base}/assessment/versions")).await.json().await.unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_workbook_explains_each_indicator_of_a_frozen_result() {
    let app = spawn_app().await;
    let bureau = app.login("bureau").await;
    let specs = ledger();
    load(&app, &bureau, &specs).await;
    set_targets(&bureau).await;
    let y = this_year();
    let base = format!("/api/campaigns/{CAMPAIGN}/years/{y}");
    assert_eq!(
        bureau.post(&format!("{base}/assessment"), &json!({"reason": "定稿"})).await.status(),
        StatusCode::CREATED
    );
    let res = app.anonymous().get(&format!("{base}/assessment.xlsx")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut book = Xlsx::new(Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    let overdue = book.worksheet_range("逾期任务").unwrap();
    let c = codes(&app).await;
    let west = overdue.rows().find(|r| r[1] == Data::String(WEST.into())).unwrap();
    assert_eq!(west[6], Data::String(c["w-open-overdue"].clone()));
    assert!(matches!(&west[5], Data::String(rule) if rule.contains("每项扣 2")));
    let ranking = book.worksheet_range("排名").unwrap();
    let ecology = ranking.rows().find(|r| r[1] == Data::String("ecology".into())).unwrap();
    assert!(matches!(&ecology[5], Data::String(s) if s.contains("不参与排名")));
}
