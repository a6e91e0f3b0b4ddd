//! OGC API - Features Part 4: a GIS client holding a bureau token edits tasks through /ogc, under
//! the same rules, ETags and history as the map.

use crate::helpers::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const ITEMS: &str = "/ogc/collections/tasks/items";

/// A client that authenticates like QGIS or GDAL: a bearer token, no cookie, no Origin.
struct Gis {
    base: String,
    client: reqwest::Client,
    token: String,
}

impl Gis {
    async fn for_user(app: &TestApp, caller: &Caller) -> Gis {
        let res = caller.post("/api/me/tokens", &json!({"name": "QGIS"})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let token = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
        Gis { base: app.base.clone(), client: app.client.clone(), token }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        etag: Option<&str>,
        body: Option<(&str, &Value)>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(etag) = etag {
            req = req.header(header::IF_MATCH, etag);
        }
        if let Some((content_type, body)) = body {
            req = req.header(header::CONTENT_TYPE, content_type).body(body.to_string());
        }
        req.send().await.unwrap()
    }

    /// The feature and its ETag.
    async fn read(&self, id: &str) -> (Value, String) {
        let res = self.send(Method::GET, &format!("{ITEMS}/{id}"), None, None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let etag = res.headers()[header::ETAG].to_str().unwrap().to_owned();
        (res.json().await.unwrap(), etag)
    }
}

fn etag_of(res: &reqwest::Response) -> String {
    res.headers()[header::ETAG].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_gis_client_creates_replaces_and_updates_tasks_with_etags() {
    let app = spawn_app().await;
    let gis = Gis::for_user(&app, &app.bureau).await;

    // Create.
    let feature = task_at(
        point(119.95, 30.85),
        json!({"title": "青溪河生态护岸", "contact_person": "王伟", "due_date": "2027-03-31", "planned_investment": 80}),
    );
    let res = gis.send(Method::POST, ITEMS, None, Some(("application/geo+json", &feature))).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{ITEMS}/{id}"));
    assert_eq!(created["properties"]["township"], MIDDLE);
    assert!(created["properties"]["code"].as_str().unwrap().starts_with("WS-"));

    // Replace: the Feature as read, links and server fields included, with a new title and geometry.
    let (mut read, etag) = gis.read(&id).await;
    read["properties"]["title"] = json!("青溪河生态护岸（二期）");
    read["geometry"] = json!({"type": "LineString", "coordinates": [[119.95, 30.85], [119.96, 30.86]]});
    let res = gis.send(Method::PUT, &location, Some(&etag), Some(("application/geo+json", &read))).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    let (after, replaced_etag) = gis.read(&id).await;
    assert_ne!(replaced_etag, etag);
    assert_eq!(after["properties"]["title"], "青溪河生态护岸（二期）");
    assert_eq!(after["geometry"]["type"], "LineString");
    assert_eq!(after["properties"]["contact_person"], "王伟", "written back unchanged");
    assert_eq!(after["properties"]["township_overridden"], false, "re-saving the township keeps it automatic");

    // Replace with less: what is left out is cleared; the reported progress stays.
    sqlx::query("UPDATE tasks SET progress = 35 WHERE id = $1::uuid").bind(&id).execute(&app.db).await.unwrap();
    let (_, etag) = gis.read(&id).await;
    let slim = task_at(point(119.95, 30.85), json!({"title": "青溪河生态护岸"}));
    let res = gis.send(Method::PUT, &location, Some(&etag), Some(("application/geo+json", &slim))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (after, etag) = gis.read(&id).await;
    assert_eq!(after["properties"]["contact_person"], Value::Null);
    assert_eq!(after["properties"]["due_date"], Value::Null);
    assert_eq!(after["properties"]["planned_investment"], Value::Null);
    assert_eq!(after["properties"]["progress"], 35);

    // Update: a merge patch.
    let patch = json!({"properties": {"due_date": "2027-06-30"}});
    let res = gis.send(Method::PATCH, &location, Some(&etag), Some(("application/merge-patch+json", &patch))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let patched_etag = etag_of(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["properties"]["due_date"], "2027-06-30");
    assert_eq!(body["properties"]["title"], "青溪河生态护岸");

    // Every change is in the task's history, by the token's owner.
    let history: Vec<Value> = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 4, "created, replaced twice, patched: {kinds:?}");
    assert!(history.iter().all(|e| e["actor"] == "bureau"));
    assert_eq!(history[1]["changes"]["title"]["after"], "青溪河生态护岸（二期）");
    assert!(history[1]["changes"].get("geometry").is_some());

    // A stale ETag changes nothing and says what the task is now.
    let stale = task_at(point(119.95, 30.85), json!({"title": "覆盖"}));
    let res = gis.send(Method::PUT, &location, Some(&etag), Some(("application/geo+json", &stale))).await;
    let body = problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(format!("\"v{}\"", body["current_version"]), patched_etag);
    let res = gis.send(Method::PATCH, &location, Some(&etag), Some(("application/merge-patch+json", &patch))).await;
    problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(gis.read(&id).await.0["properties"]["title"], "青溪河生态护岸");
}

#[tokio::test]
async fn bad_writes_through_ogc_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let gis = Gis::for_user(&app, &app.bureau).await;
    let (id, _, _) = app.create(&task_at(point(119.95, 30.85), json!({"status": "in_progress", "progress": 20}))).await;
    let item = format!("{ITEMS}/{id}");
    let (before, etag) = gis.read(&id).await;
    let geo = "application/geo+json";

    // No If-Match.
    problem(gis.send(Method::PUT, &item, None, Some((geo, &before))).await, StatusCode::PRECONDITION_REQUIRED).await;
    problem(gis.send(Method::PATCH, &item, None, Some((geo, &json!({})))).await, StatusCode::PRECONDITION_REQUIRED)
        .await;

    // The status changes through the workflow only.
    let mut finished = before.clone();
    finished["properties"]["status"] = json!("completed");
    let body = problem(
        gis.send(Method::PUT, &item, Some(&etag), Some((geo, &finished))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&body), ["/properties/status"]);
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("in_progress"), "{body}");

    // A replacement states the whole task.
    let partial = json!({"type": "Feature", "properties": {"title": "只改标题"}});
    let body = problem(
        gis.send(Method::PUT, &item, Some(&etag), Some((geo, &partial))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut got = pointers(&body);
    got.sort();
    assert_eq!(got, ["/geometry", "/properties/category"]);

    // The same validation as any create: coordinates, polygons, types.
    let outside = task_at(point(200.0, 30.85), json!({}));
    let body = problem(
        gis.send(Method::PUT, &item, Some(&etag), Some((geo, &outside))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pointers(&body), ["/geometry/coordinates/0"]);
    let bowtie = task_at(
        json!({"type": "Polygon", "coordinates": [[[119.9, 30.8], [119.95, 30.85], [119.95, 30.8], [119.9, 30.85], [119.9, 30.8]]]}),
        json!({}),
    );
    let res = gis.send(Method::POST, ITEMS, None, Some((geo, &bowtie))).await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body), ["/geometry"]);
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("self-intersection"), "{body}");
    let res = gis.send(Method::POST, ITEMS, None, Some(("text/csv", &json!("a,b")))).await;
    problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    // Unknown ids and collections.
    let unknown = format!("{ITEMS}/00000000-0000-4000-8000-000000000000");
    problem(gis.send(Method::PUT, &unknown, Some(&etag), Some((geo, &before))).await, StatusCode::NOT_FOUND).await;
    problem(
        gis.send(Method::PATCH, &format!("{ITEMS}/WS-2026-0001"), Some(&etag), Some((geo, &json!({})))).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        gis.send(Method::POST, "/ogc/collections/rivers/items", None, Some((geo, &before))).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Townships are read-only here; tasks are never deleted.
    let res = gis.send(Method::POST, "/ogc/collections/townships/items", None, Some((geo, &before))).await;
    assert_eq!(res.headers()[header::ALLOW], "GET");
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
    let res = gis.send(Method::DELETE, &item, Some(&etag), None).await;
    assert_eq!(res.headers()[header::ALLOW], "GET, PUT, PATCH");
    let body = problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
    assert!(body["detail"].as_str().unwrap().contains("cancel"), "{body}");

    // Nothing above changed the task or added one.
    let (after, etag_after) = gis.read(&id).await;
    assert_eq!(etag_after, etag);
    assert_eq!(after, before);
    assert_eq!(app.task_count().await, 1);

    // A township officer's token writes nothing here either.
    let township = Gis::for_user(&app, &app.login(&format!("township-{MIDDLE}")).await).await;
    let res =
        township.send(Method::PATCH, &item, Some(&etag), Some((geo, &json!({"properties": {"title": "改"}})))).await;
    problem(res, StatusCode::FORBIDDEN).await;
    let res = township.send(Method::POST, ITEMS, None, Some((geo, &task_at(point(119.95, 30.85), json!({}))))).await;
    problem(res, StatusCode::FORBIDDEN).await;
    assert_eq!(app.task_count().await, 1);
}

#[tokio::test]
async fn the_api_description_and_conformance_announce_editing() {
    let app = spawn_app().await;
    let conformance: Value = app.anonymous().get("/ogc/conformance").await.json().await.unwrap();
    let classes: Vec<&str> =
        conformance["conformsTo"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for class in ["create-replace-delete", "update", "optimistic-locking-etags"] {
        assert!(classes.iter().any(|c| c.ends_with(&format!("ogcapi-features-4/1.0/conf/{class}"))), "{class}");
    }
    let api: Value = app.anonymous().get("/ogc/api").await.json().await.unwrap();
    let items = &api["paths"]["/collections/{collectionId}/items"];
    assert_eq!(items["post"]["operationId"], "createFeature");
    let item = &api["paths"]["/collections/{collectionId}/items/{featureId}"];
    for (method, id) in
        [("get", "getFeature"), ("put", "replaceFeature"), ("patch", "updateFeature"), ("delete", "deleteFeature")]
    {
        assert_eq!(item[method]["operationId"], id, "{method}");
    }
    assert!(item["put"]["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "If-Match"));
}
