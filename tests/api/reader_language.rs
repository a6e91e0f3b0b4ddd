//! Refusals in the reader's language: every field error carries a stable code and its parameters;
//! the `detail`s are Chinese unless the request prefers English, with no Latin letters outside the
//! data they quote (what was typed, codes, names).

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// Every string a problem's parameters hold: the data its Chinese may quote as it is.
fn data_values(problem: &Value) -> Vec<String> {
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|x| collect(x, out)),
            Value::Object(map) => map.values().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(&problem["params"], &mut out);
    for e in problem["errors"].as_array().into_iter().flatten() {
        collect(&e["params"], &mut out);
    }
    // The longest first, so a value is never cut by a shorter one inside it.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// Asserts that `text` holds no Latin letter once the problem's data values are taken out.
fn chinese(text: &str, problem: &Value) {
    let mut left = text.to_owned();
    for value in data_values(problem) {
        left = left.replace(&value, "");
    }
    assert!(!left.chars().any(|c| c.is_ascii_alphabetic()), "Latin outside data in {text:?}: {problem}");
    assert!(left.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "not Chinese: {text:?}");
}

/// Asserts that the whole problem is worded in Chinese.
fn all_chinese(problem: &Value) {
    chinese(problem["detail"].as_str().unwrap(), problem);
    for e in problem["errors"].as_array().into_iter().flatten() {
        chinese(e["detail"].as_str().unwrap(), problem);
    }
}

fn bad_task() -> Value {
    task_at(
        point(119.95, 30.85),
        json!({"title": null, "progress": 120, "due_date": "2026-13-01", "category": "forestry", "contact_phone": "call me"}),
    )
}

#[tokio::test]
async fn field_errors_carry_a_code_and_parameters_and_are_chinese_by_default() {
    let app = spawn_app().await;
    let res = app.unworded().post("/api/tasks", &bad_task()).await;
    assert_eq!(res.headers()[header::CONTENT_LANGUAGE], "zh-CN");
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    all_chinese(&p);
    let error = |pointer: &str| {
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["pointer"] == pointer)
            .cloned()
            .unwrap_or_else(|| panic!("{p}"))
    };
    let progress = error("/properties/progress");
    assert_eq!(progress["code"], "range");
    assert_eq!(progress["params"], json!({"min": 0, "max": 100, "got": 120}));
    assert_eq!(progress["detail"], "应在 0 到 100 之间，收到 120");
    assert_eq!(error("/properties/title")["code"], "required");
    assert_eq!(error("/properties/title")["detail"], "必填");
    let due = error("/properties/due_date");
    assert_eq!((due["code"].as_str(), due["params"]["expected"].as_str()), (Some("format"), Some("date")));
    assert_eq!(due["detail"], "“2026-13-01”不是有效的日期（年-月-日）");
    assert_eq!(error("/properties/contact_phone")["params"]["got"], "call me");
    assert!(p["detail"].as_str().unwrap().starts_with("填写的内容有误："), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("另有"), "{p}");
}

#[tokio::test]
async fn english_is_written_for_a_reader_who_prefers_it() {
    let app = spawn_app().await;
    for accept in ["en", "en-US,en;q=0.9", "fr, en;q=0.8, zh;q=0.5"] {
        let res = app
            .request(reqwest::Method::POST, "/api/tasks")
            .header(header::CONTENT_TYPE, "application/geo+json")
            .header(header::ACCEPT_LANGUAGE, accept)
            .body(bad_task().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()[header::CONTENT_LANGUAGE], "en", "{accept}");
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(p["detail"].as_str().unwrap().starts_with("the request body is invalid: /properties/"), "{p}");
        let progress = p["errors"].as_array().unwrap().iter().find(|e| e["pointer"] == "/properties/progress").unwrap();
        assert_eq!(progress["detail"], "must be between 0 and 100, got 120", "{accept}");
        assert_eq!(progress["code"], "range", "the code does not depend on the language");
    }
    for accept in ["zh-CN,zh;q=0.9,en;q=0.8", "de", "en;q=0", "*;q=x"] {
        let res = app
            .request(reqwest::Method::POST, "/api/tasks")
            .header(header::CONTENT_TYPE, "application/geo+json")
            .header(header::ACCEPT_LANGUAGE, accept)
            .body(bad_task().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()[header::CONTENT_LANGUAGE], "zh-CN", "{accept}");
        all_chinese(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await);
    }
}

#[tokio::test]
async fn a_townships_report_and_the_workflow_refuse_in_chinese_with_their_codes() {
    let app = spawn_app().await;
    let (id, _, _) = app.create(&task_at(point(119.95, 30.85), json!({}))).await;
    let township = app.login(&format!("township-{MIDDLE}")).await.unworded();
    let etag = township.etag(&id).await;
    let p = problem(
        township.report(&id, &etag, &new_key(), &[("progress", "150"), ("note", "过半")], &[]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    all_chinese(&p);
    assert_eq!(pointers(&p), ["/progress"], "a refused progress is not also an empty report: {p}");
    assert_eq!(p["errors"][0]["code"], "range");
    assert_eq!(p["errors"][0]["detail"], "应在 0 到 100 之间，收到 150");
    let p =
        problem(township.report(&id, &etag, &new_key(), &[("progress", "40")], &[]).await, StatusCode::CONFLICT).await;
    assert_eq!(
        (p["code"].as_str(), p["detail"].as_str()),
        (Some("not_started"), Some("任务尚未开始：请先上报开始，再上报进度"))
    );
    let p = problem(township.transition(&id, "verify", None).await, StatusCode::FORBIDDEN).await;
    assert_eq!(p["code"], "bureau_only");
    assert_eq!(p["params"], json!({"action": "verify"}));
    assert_eq!(p["detail"], "只有环保局可以核验销号");
    let p = problem(app.bureau.unworded().transition(&id, "verify", None).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "wrong_state");
    assert_eq!(p["detail"], "任务为“未开始”，不能核验销号");
    let p = problem(app.bureau.unworded().transition(&id, "cancel", Some(" ")).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    all_chinese(&p);
    assert_eq!(p["errors"][0]["detail"], "取消任务需要说明原因");
}

#[tokio::test]
async fn logging_in_and_choosing_a_password_refuse_in_chinese() {
    let app = spawn_app().await;
    let anonymous = app.anonymous().unworded();
    let res = anonymous.post("/api/session", &json!({"username": "bureau", "password": "wrong-password-1"})).await;
    let p = problem(res, StatusCode::UNAUTHORIZED).await;
    assert_eq!(p["detail"], "用户名或密码不正确");
    let p = problem(
        anonymous.post("/api/session", &json!({"username": "", "password": 3})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    all_chinese(&p);
    assert_eq!(p["errors"][1]["params"], json!({"expected": "string", "type": "number"}));
    assert_eq!(p["errors"][1]["detail"], "应为文字，收到的是数字");

    let me = app.login("bureau").await.unworded();
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    for (body, code) in [
        (change(PASSWORD, "short-1"), "too_short"),
        (change(PASSWORD, "password123456"), "common_password"),
        (change(PASSWORD, "my-bureau-password"), "contains_username"),
        (change(PASSWORD, PASSWORD), "same_password"),
        (change("not-my-password", "a-long-river-walk-7"), "wrong_password"),
    ] {
        let p = problem(me.post("/api/me/password", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["errors"][0]["code"], code, "{p}");
        all_chinese(&p);
    }
}

#[tokio::test]
async fn an_imports_report_is_worded_for_its_reader() {
    let app = spawn_app().await;
    let doc = json!({"type": "FeatureCollection", "features": [
        task_at(point(119.95, 30.85), json!({})),
        task_at(point(119.95, 30.85), json!({"progress": -5})),
    ]});
    let body = doc.to_string();
    let send = |caller: Caller| {
        let body = body.clone();
        async move {
            caller
                .request(reqwest::Method::POST, "/api/import?mode=partial")
                .header(header::CONTENT_TYPE, "application/geo+json")
                .header("idempotency-key", new_key())
                .body(body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let zh = send(app.bureau.unworded()).await;
    assert_eq!(zh["failed"][0]["errors"][0]["code"], "range", "{zh}");
    assert_eq!(zh["failed"][0]["error"], "要素 1：进度：应在 0 到 100 之间，收到 -5");
    let en = send(app.bureau.clone()).await;
    assert_eq!(en["failed"][0]["error"], "/features/1/properties/progress: must be between 0 and 100, got -5");
}

#[tokio::test]
async fn the_api_description_names_every_code_and_its_parameters() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let field_error = &schemas["FieldError"]["properties"];
    for member in ["pointer", "code", "params", "detail"] {
        assert!(field_error[member].is_object(), "FieldError.{member}: {}", schemas["FieldError"]);
    }
    let problem = &schemas["Problem"]["properties"];
    for member in ["type", "detail", "code", "params", "errors"] {
        assert!(problem[member].is_object(), "Problem.{member}: {}", schemas["Problem"]);
    }
    let codes: Vec<&str> = schemas["Code"]["enum"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let described = schemas["Code"]["description"].as_str().unwrap();
    for code in ["required", "range", "unknown_value", "too_long", "format", "invalid_geometry", "outside_county"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    for code in &codes {
        assert!(described.contains(&format!("- `{code}`: ")), "{code} is described: {described}");
    }
    assert!(described.contains("must be between {min} and {max}"), "{described}");
}
