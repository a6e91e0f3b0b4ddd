//! Creating, reading, listing and editing tasks over real HTTP and PostGIS.

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn a_created_task_reads_back_with_its_geometry_exactly() {
    let app = spawn_app().await;
    let geometries = [
        json!({"type": "Point", "coordinates": [119.95123456789012, 30.8512345678901]}),
        json!({"type": "LineString", "coordinates": [[119.91, 30.8], [119.9234567, 30.8123456], [119.95, 30.83]]}),
        json!({"type": "Polygon", "coordinates": [[[119.91, 30.8], [119.93, 30.8], [119.93, 30.82], [119.91, 30.8]]]}),
        json!({"type": "MultiPolygon", "coordinates": [
            [[[119.91, 30.8], [119.93, 30.8], [119.93, 30.82], [119.91, 30.8]]],
            [[[119.95, 30.85], [119.96, 30.85], [119.96, 30.86], [119.95, 30.85]]]]}),
    ];
    for geometry in geometries {
        let (id, etag, created) = app.create(&task_at(geometry.clone(), json!({}))).await;
        assert_eq!(created["geometry"], geometry);
        let res = app.get(&format!("/api/tasks/{id}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/geo+json");
        assert_eq!(res.headers()[header::ETAG].to_str().unwrap(), etag);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["type"], "Feature");
        assert_eq!(body["id"], id.as_str());
        assert_eq!(body["geometry"], geometry);
    }
}

#[tokio::test]
async fn a_created_task_has_every_property_it_was_given_and_the_derived_ones() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/tasks",
            &task_at(
                point(119.95, 30.85),
                json!({
                    "description": "清淤 3.2 公里", "status": "in_progress", "progress": 35,
                    "contact_person": "王伟", "contact_phone": "13900001234", "due_date": "2030-06-30",
                    "planned_investment": 1250.5, "actual_investment": 300, "target_quantity": 3.2,
                    "target_unit": "km", "visibility": "internal", "supervised": true
                }),
            ),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/tasks/{}", body["id"].as_str().unwrap()));
    let p = &body["properties"];
    assert_eq!(p["title"], "青溪河河道清淤");
    assert_eq!(p["category"], "watershed");
    assert_eq!(p["status"], "in_progress");
    assert_eq!(p["progress"], 35);
    assert_eq!(p["township"], MIDDLE);
    assert_eq!(p["township_name"], "青溪镇");
    assert_eq!(p["township_overridden"], false);
    assert_eq!(p["lead_unit"], "县水利局");
    assert_eq!(p["contact_person"], "王伟");
    assert_eq!(p["contact_phone"], "13900001234");
    assert_eq!(p["due_date"], "2030-06-30");
    assert_eq!(p["overdue"], false);
    assert_eq!(p["planned_investment"], 1250.5);
    assert_eq!(p["actual_investment"], 300.0);
    assert_eq!(p["target_quantity"], 3.2);
    assert_eq!(p["target_unit"], "km");
    assert_eq!(p["visibility"], "internal");
    assert_eq!(p["supervised"], true);
    assert_eq!(p["version"], 1);
    assert!(p["code"].as_str().unwrap().starts_with("WS-"));
}

#[tokio::test]
async fn codes_count_per_family_and_year() {
    let app = spawn_app().await;
    let year: i32 = sqlx::query_scalar("SELECT extract(year FROM current_date)::int").fetch_one(&app.db).await.unwrap();
    let mut codes = Vec::new();
    for category in ["watershed", "watershed", "chemical", "watershed"] {
        let (_, _, body) = app.create(&task_at(point(119.95, 30.85), json!({"category": category}))).await;
        codes.push(body["properties"]["code"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        codes,
        [format!("WS-{year}-0001"), format!("WS-{year}-0002"), format!("CH-{year}-0001"), format!("WS-{year}-0003")]
    );
}

#[tokio::test]
async fn a_patch_changes_what_it_names_and_moves_the_etag() {
    let app = spawn_app().await;
    let (id, etag, _) = app.create(&task_at(point(119.95, 30.85), json!({"contact_person": "王伟"}))).await;
    let res = app
        .patch(
            &format!("/api/tasks/{id}"),
            &etag,
            &json!({"properties": {"progress": 60, "contact_person": null, "title": "新标题"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let new_etag = res.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["properties"]["progress"], 60);
    assert_eq!(body["properties"]["title"], "新标题");
    assert_eq!(body["properties"]["contact_person"], Value::Null);
    assert_eq!(body["properties"]["lead_unit"], "县水利局");
    assert_eq!(body["properties"]["version"], 2);

    let again: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(again["properties"]["progress"], 60);
}

#[tokio::test]
async fn a_patch_without_if_match_is_refused_with_428_and_changes_nothing() {
    let app = spawn_app().await;
    let (id, _, _) = app.create(&task_at(point(119.95, 30.85), json!({}))).await;
    let res = app
        .request(reqwest::Method::PATCH, &format!("/api/tasks/{id}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(json!({"properties": {"progress": 60}}).to_string())
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::PRECONDITION_REQUIRED).await;
    assert!(p["detail"].as_str().unwrap().contains("If-Match"));
    let after: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(after["properties"]["progress"], 0);
}

#[tokio::test]
async fn a_stale_patch_gets_412_with_the_current_version_and_is_not_applied() {
    let app = spawn_app().await;
    let (id, first_etag, _) = app.create(&task_at(point(119.95, 30.85), json!({}))).await;
    let path = format!("/api/tasks/{id}");
    assert_eq!(app.patch(&path, &first_etag, &json!({"properties": {"progress": 30}})).await.status(), StatusCode::OK);

    let res = app.patch(&path, &first_etag, &json!({"properties": {"progress": 90, "title": "覆盖"}})).await;
    assert_eq!(res.headers()[header::ETAG], "\"v2\"");
    let p = problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(p["current_version"], 2);
    assert_eq!(p["current"]["properties"]["progress"], 30);
    let after: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(after["properties"]["progress"], 30);
    assert_eq!(after["properties"]["title"], "青溪河河道清淤");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_edits_of_one_version_exactly_one_wins() {
    let app = spawn_app().await;
    let (id, etag, _) = app.create(&task_at(point(119.95, 30.85), json!({}))).await;
    let path = format!("/api/tasks/{id}");
    let edits: Vec<_> = (0..8)
        .map(|i| {
            let request = app
                .request(reqwest::Method::PATCH, &path)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::IF_MATCH, &etag)
                .body(json!({"properties": {"progress": 10 + i}}).to_string());
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for edit in edits {
        statuses.push(edit.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::PRECONDITION_FAILED).count(), 7, "{statuses:?}");
    let after: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(after["properties"]["version"], 2);
}

#[tokio::test]
async fn an_unchanged_task_answers_304_to_if_none_match() {
    let app = spawn_app().await;
    let (id, etag, _) = app.create(&task_at(point(119.95, 30.85), json!({}))).await;
    let res =
        app.client.get(app.url(&format!("/api/tasks/{id}"))).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}
