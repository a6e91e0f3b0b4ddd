//! GET /api/tasks: every filter, paging and its links.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Six tasks with known attributes, returned as (code, title) in creation order.
async fn ledger(app: &TestApp) -> Vec<String> {
    let tasks = [
        (
            point(119.85, 30.80),
            json!({"title": "城东污水管网改造", "category": "watershed", "status": "planned", "due_date": "2020-01-01"}),
        ),
        (
            point(119.95, 30.80),
            json!({"title": "青溪镇化工园区整治", "category": "chemical", "status": "in_progress", "progress": 40, "due_date": "2099-01-01", "supervised": true}),
        ),
        (
            point(120.05, 30.90),
            json!({"title": "开发区锅炉改造", "category": "energy", "status": "completed", "due_date": "2020-01-01"}),
        ),
        (point(119.96, 30.95), json!({"title": "青溪河生态修复", "category": "watershed", "status": "verified"})),
        (
            point(119.86, 30.95),
            json!({"title": "东村垃圾分类", "category": "village", "status": "cancelled", "cancel_reason": "并入其他工程", "due_date": "2020-01-01"}),
        ),
        (
            point(120.06, 30.72),
            json!({"title": "开发区雨污分流_试点", "category": "watershed", "status": "in_progress", "progress": 10, "due_date": "2021-06-30"}),
        ),
    ];
    let mut codes = Vec::new();
    for (g, props) in tasks {
        let (_, _, body) = app.create(&task_at(g, props)).await;
        codes.push(body["properties"]["code"].as_str().unwrap().to_owned());
    }
    codes
}

async fn titles(app: &TestApp, query: &str) -> Vec<String> {
    let res = app.get(&format!("/api/tasks?{query}")).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "FeatureCollection");
    let mut t: Vec<String> = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["title"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn every_filter_selects_what_it_says() {
    let app = spawn_app().await;
    ledger(&app).await;
    assert_eq!(titles(&app, "").await.len(), 6);
    assert_eq!(titles(&app, "category=energy").await, ["开发区锅炉改造"]);
    assert_eq!(titles(&app, "category=energy,village").await, ["东村垃圾分类", "开发区锅炉改造"]);
    assert_eq!(titles(&app, "status=verified,cancelled").await, ["东村垃圾分类", "青溪河生态修复"]);
    assert_eq!(titles(&app, &format!("township={EAST}")).await, ["开发区锅炉改造", "开发区雨污分流_试点"]);
    // Overdue: past due and still planned or in progress; finished and cancelled work is never overdue.
    assert_eq!(titles(&app, "overdue=true").await, ["城东污水管网改造", "开发区雨污分流_试点"]);
    assert_eq!(titles(&app, "overdue=false").await.len(), 4);
    assert_eq!(titles(&app, "supervised=true").await, ["青溪镇化工园区整治"]);
    assert_eq!(titles(&app, "q=青溪").await, ["青溪河生态修复", "青溪镇化工园区整治"]);
    // `_` is a literal underscore, not a LIKE wildcard.
    assert_eq!(titles(&app, "q=%E5%88%86%E6%B5%81_").await, ["开发区雨污分流_试点"]);
    assert_eq!(titles(&app, "q=x_y").await, Vec::<String>::new());
    assert_eq!(titles(&app, "category=watershed&status=in_progress&overdue=true").await, ["开发区雨污分流_试点"]);
}

#[tokio::test]
async fn q_matches_a_code_prefix() {
    let app = spawn_app().await;
    let codes = ledger(&app).await;
    let body: Value = app.get(&format!("/api/tasks?q={}", codes[2])).await.json().await.unwrap();
    assert_eq!(body["numberMatched"], 1);
    assert_eq!(body["features"][0]["properties"]["code"], codes[2].as_str());
}

#[tokio::test]
async fn bbox_selects_by_geometry_not_by_envelope() {
    let app = spawn_app().await;
    ledger(&app).await;
    // A diagonal line whose envelope covers the box but which passes outside it.
    app.create(&task_at(
        json!({"type": "LineString", "coordinates": [[119.81, 30.71], [119.99, 30.99]]}),
        json!({"title": "斜穿河段"}),
    ))
    .await;
    assert_eq!(titles(&app, "bbox=119.83,30.80,119.86,30.84").await, ["城东污水管网改造"]);
    assert_eq!(titles(&app, "bbox=119.80,30.70,120.10,31.00").await.len(), 7);
    assert_eq!(titles(&app, "bbox=119.94,30.94,119.97,30.96").await, ["斜穿河段", "青溪河生态修复"]);
    assert_eq!(titles(&app, "bbox=119.96,30.71,119.99,30.74").await, Vec::<String>::new());
}

#[tokio::test]
async fn pages_carry_counts_and_links_that_walk_the_whole_list() {
    let app = spawn_app().await;
    let codes = ledger(&app).await;
    let mut seen = Vec::new();
    let mut next = Some("/api/tasks?category=watershed,energy,chemical,village&limit=4".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let body: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(body["numberMatched"], 6);
        let features = body["features"].as_array().unwrap();
        assert_eq!(body["numberReturned"], features.len());
        seen.extend(features.iter().map(|f| f["properties"]["code"].as_str().unwrap().to_owned()));
        let links = body["links"].as_array().unwrap();
        assert!(links.iter().any(|l| l["rel"] == "self"));
        next = links.iter().find(|l| l["rel"] == "next").map(|l| l["href"].as_str().unwrap().to_owned());
        pages += 1;
    }
    assert_eq!(pages, 2);
    let mut expected = codes.clone();
    expected.sort();
    assert_eq!(seen, expected, "pages in code order, each task once");
}

#[tokio::test]
async fn number_matched_is_exact_for_full_short_empty_and_past_the_end_pages() {
    let app = spawn_app().await;
    ledger(&app).await;
    for (query, matched, returned) in [
        ("limit=6", 6, 6),
        ("limit=5", 6, 5),
        ("limit=4&offset=4", 6, 2),
        ("limit=2&offset=6", 6, 0),
        ("limit=2&offset=40", 6, 0),
        ("limit=10&category=energy", 1, 1),
        ("limit=10&bbox=119.96,30.71,119.99,30.74", 0, 0),
    ] {
        let body: Value = app.get(&format!("/api/tasks?{query}")).await.json().await.unwrap();
        assert_eq!(body["numberMatched"], matched, "{query}");
        assert_eq!(body["numberReturned"], returned, "{query}");
    }
}

#[tokio::test]
async fn bad_filters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, param, says) in [
        ("bbox=119.8,30.7,120.1", "bbox", "4 numbers"),
        ("bbox=120.1,30.7,119.8,31", "bbox", "greater than maxLon"),
        ("status=finished", "status", "unknown status 'finished'"),
        ("category=forestry", "category", "unknown category 'forestry'"),
        ("township=999999999", "township", "unknown township '999999999'"),
        ("overdue=maybe", "overdue", "not true or false"),
        ("limit=20000", "limit", "between 1 and 10000"),
        ("offset=x", "offset", "not a whole number"),
        ("sort=title", "sort", "unknown parameter 'sort'"),
    ] {
        let p = problem(app.get(&format!("/api/tasks?{query}")).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(pointers(&p), [param], "{query}");
        assert!(p["errors"][0]["detail"].as_str().unwrap().contains(says), "{query}: {p}");
    }
}

#[tokio::test]
async fn properties_names_what_each_task_carries_and_the_pages_keep_it() {
    let app = spawn_app().await;
    ledger(&app).await;
    let full: Value = app.get("/api/tasks?limit=1").await.json().await.unwrap();
    let mut every: Vec<&str> =
        full["features"][0]["properties"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    every.sort();
    let mut known = greenledger::domain::filter::TASK_PROPERTIES.to_vec();
    known.sort();
    assert_eq!(every, known, "every property the bureau sees can be named, and nothing else");

    let res = app.get("/api/tasks?properties=code,status&limit=2&status=in_progress,planned").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    for f in body["features"].as_array().unwrap() {
        let keys: Vec<&String> = f["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "status"], "{f}");
        assert!(f["id"].is_string() && f["geometry"]["type"] == "Point", "id and geometry stay: {f}");
    }
    assert_eq!(body["numberMatched"], 3);
    let next = body["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap();
    assert!(next["href"].as_str().unwrap().contains("properties=code%2Cstatus"), "{next}");

    // The public asking for a field only staff see gets the task without it, not an error.
    let public: Value = app.anonymous().get("/api/tasks?properties=code,contact_phone").await.json().await.unwrap();
    let keys: Vec<&String> = public["features"][0]["properties"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code"]);

    // OGC API items read the same parameter.
    let ogc: Value = app.get("/ogc/collections/tasks/items?properties=title&limit=1").await.json().await.unwrap();
    let keys: Vec<&String> = ogc["features"][0]["properties"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["title"]);

    let body = problem(app.get("/api/tasks?properties=code,colour").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["pointer"], "properties");
    assert_eq!(body["errors"][0]["code"], "unknown_value");
    assert_eq!(body["errors"][0]["params"]["got"], "colour");
}

#[tokio::test]
async fn sortby_orders_by_several_keys_with_empty_values_last_and_the_pages_follow_it() {
    let app = spawn_app().await;
    ledger(&app).await;
    let page = |q: &str| {
        let app = &app;
        let q = q.to_owned();
        async move {
            let body: Value = app.get(&format!("/api/tasks?{q}")).await.json().await.unwrap();
            body
        }
    };
    let props = |body: &Value, key: &str| -> Vec<Value> {
        body["features"].as_array().unwrap().iter().map(|f| f["properties"][key].clone()).collect()
    };
    // Progress descending, then by due date (the latest first), then by code.
    let body = page("sortby=-progress,-due_date").await;
    let progress: Vec<i64> = props(&body, "progress").iter().map(|v| v.as_i64().unwrap()).collect();
    let mut expected = progress.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(progress, expected, "progress descending");
    // Ascending by due date: tasks without one come last, whichever way.
    for q in ["sortby=due_date", "sortby=-due_date"] {
        let due = props(&page(q).await, "due_date");
        let first_null = due.iter().position(Value::is_null).unwrap_or(due.len());
        assert!(due[first_null..].iter().all(Value::is_null), "{q}: empty values last: {due:?}");
        let dates: Vec<&str> = due[..first_null].iter().map(|d| d.as_str().unwrap()).collect();
        let mut sorted = dates.clone();
        sorted.sort();
        if q.contains('-') {
            sorted.reverse();
        }
        assert_eq!(dates, sorted, "{q}");
    }
    // A leading + (a space once decoded) is ascending, and the next page goes on in that order.
    let first = page("sortby=%2Btitle&limit=3").await;
    let next = first["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap()["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(next.contains("sortby=%2Btitle"), "{next}");
    let second: Value = app.get(&next).await.json().await.unwrap();
    let titles: Vec<String> = [props(&first, "title"), props(&second, "title")]
        .concat()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted, "two pages in title order");
    assert_eq!(titles.len(), 6);

    // OGC API items take the same parameter.
    let ogc: Value = app.get("/ogc/collections/tasks/items?sortby=-progress&limit=2").await.json().await.unwrap();
    assert_eq!(props(&ogc, "progress")[0], json!(expected[0]));

    // A property that cannot be sorted by, a private one included, is refused by name.
    for (q, name) in [("sortby=colour", "colour"), ("sortby=-contact_phone", "contact_phone")] {
        let body = problem(app.get(&format!("/api/tasks?{q}")).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errors"][0]["pointer"], "sortby");
        assert_eq!(body["errors"][0]["params"]["got"], name);
    }
}
