//! /ogc: OGC API - Features as GIS clients use it, GDAL's OAPIF reader first among them.

use greenledger::store::photos::PhotoStore;
use std::path::Path;
use std::process::Command;

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// The demo county and its tasks in place of the fixture strips.
pub(crate) async fn demo_county(app: &TestApp) {
    sqlx::query("DELETE FROM users WHERE role = 'township'").execute(&app.db).await.unwrap();
    sqlx::query("DELETE FROM townships").execute(&app.db).await.unwrap();
    greenledger::seed::load_demo(&app.db, Path::new("data"), &PhotoStore::Folder(app.data_dir.clone()), |_| {})
        .await
        .unwrap();
}

/// Runs ogrinfo with `args` (blocking, off the runtime the service runs on) and returns its stdout.
async fn ogrinfo(args: Vec<String>) -> String {
    ogrinfo_logged(args, false).await.0
}

/// As [`ogrinfo`], with GDAL's debug log (`CPL_DEBUG`) on when `debug`: (stdout, stderr).
pub(crate) async fn ogrinfo_logged(args: Vec<String>, debug: bool) -> (String, String) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new("ogrinfo")
            .args(&args)
            .env("CPL_DEBUG", if debug { "ON" } else { "OFF" })
            .env("GDAL_HTTP_TIMEOUT", "60")
            .output()
            .expect("ogrinfo runs (scripts/deps.sh test installs gdal-bin)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "ogrinfo failed:\n{stderr}\n{stdout}");
    assert!(!stderr.contains("ERROR"), "ogrinfo reported errors:\n{stderr}");
    (stdout, stderr)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[tokio::test]
async fn gdal_lists_both_collections_and_reads_every_public_demo_feature() {
    let app = spawn_app().await;
    demo_county(&app).await;
    let public: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE visibility = 'public'").fetch_one(&app.db).await.unwrap();
    let all = app.task_count().await;
    assert!(public > 100 && public < all, "the demo ledger has public and internal tasks ({public} of {all})");
    let source = format!("OAPIF:{}/ogc", app.base);

    let summary = ogrinfo(vec!["-ro".into(), "-al".into(), "-so".into(), source.clone()]).await;
    assert!(summary.contains("Layer name: tasks"), "{summary}");
    assert!(summary.contains("Layer name: townships"), "{summary}");
    assert!(summary.contains("code: String"), "{summary}");
    assert!(summary.contains("title: String"), "{summary}");

    // Every public task, with its attributes and its geometry; nothing internal or private.
    let tasks = ogrinfo(vec!["-ro".into(), "-al".into(), source.clone(), "tasks".into()]).await;
    assert_eq!(count(&tasks, "OGRFeature(tasks):") as i64, public, "{}", &tasks[..2000.min(tasks.len())]);
    assert_eq!(count(&tasks, "  code (String) = ") as i64, public);
    assert_eq!(count(&tasks, "  category (String) = ") as i64, public);
    let geometries = count(&tasks, "  POINT (")
        + count(&tasks, "  LINESTRING (")
        + count(&tasks, "  POLYGON (")
        + count(&tasks, "  MULTIPOINT (")
        + count(&tasks, "  MULTILINESTRING (")
        + count(&tasks, "  MULTIPOLYGON (");
    assert_eq!(geometries as i64, public);
    assert!(!tasks.contains("visibility (String) = internal"));
    assert!(!tasks.contains("contact_phone"), "anonymous callers never see contact details");

    let townships = ogrinfo(vec!["-ro".into(), "-al".into(), source, "townships".into()]).await;
    assert_eq!(count(&townships, "OGRFeature(townships):"), 12);
    assert_eq!(count(&townships, "  MULTIPOLYGON ("), 12);
    assert!(townships.contains("name (String) = 城东街道"), "{}", &townships[..1000.min(townships.len())]);
}

#[tokio::test]
async fn gdal_with_a_bureau_token_reads_internal_tasks_and_private_fields() {
    let app = spawn_app().await;
    demo_county(&app).await;
    let res = app.post("/api/me/tokens", &json!({"name": "QGIS"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
    let all = app.task_count().await;
    let tasks = ogrinfo(vec![
        "-ro".into(),
        "-al".into(),
        "--config".into(),
        "GDAL_HTTP_HEADERS".into(),
        format!("Authorization: Bearer {secret}"),
        format!("OAPIF:{}/ogc", app.base),
        "tasks".into(),
    ])
    .await;
    assert_eq!(count(&tasks, "OGRFeature(tasks):") as i64, all);
    assert!(tasks.contains("visibility (String) = internal"));
}

#[tokio::test]
async fn landing_page_conformance_and_collections_follow_the_standard() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    let landing: Value = anon.get("/ogc").await.json().await.unwrap();
    let rels: Vec<&str> = landing["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    for rel in ["self", "alternate", "service-desc", "service-doc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{rel} missing from {rels:?}");
    }
    let conformance: Value = anon.get("/ogc/conformance").await.json().await.unwrap();
    let classes = conformance["conformsTo"].as_array().unwrap();
    assert!(classes.iter().any(|c| c.as_str().unwrap().ends_with("/conf/core")));
    assert!(classes.iter().any(|c| c.as_str().unwrap().ends_with("/conf/oas30")));

    let api = anon.get("/ogc/api").await;
    assert!(api.headers()[header::CONTENT_TYPE].to_str().unwrap().contains("openapi"));
    let api: Value = api.json().await.unwrap();
    assert!(api["openapi"].as_str().unwrap().starts_with("3.0"));
    assert!(api["paths"]["/collections/{collectionId}/items"].is_object());
    assert_eq!(api["servers"][0]["url"], format!("{}/ogc", app.base), "paths are keyed under the server");

    let collections: Value = anon.get("/ogc/collections").await.json().await.unwrap();
    let ids: Vec<&str> =
        collections["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["tasks", "townships"]);
    let tasks: Value = anon.get("/ogc/collections/tasks").await.json().await.unwrap();
    let bbox = &tasks["extent"]["spatial"]["bbox"][0];
    assert_eq!(bbox[0].as_f64(), Some(119.8));
    assert_eq!(bbox[3].as_f64(), Some(NORTH));

    let missing = problem(anon.get("/ogc/collections/rivers").await, StatusCode::NOT_FOUND).await;
    assert!(missing["detail"].as_str().unwrap().contains("tasks, townships"));
}

#[tokio::test]
async fn html_is_served_to_browsers_and_on_request() {
    let app = spawn_app().await;
    let res = app
        .anonymous()
        .request(reqwest::Method::GET, "/ogc/collections")
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let page = res.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("/ogc/collections/tasks"), "links are links");

    app.create(&task_at(point(119.85, 30.8), json!({"title": "城东<河道>清淤"}))).await;
    let page = app.anonymous().get("/ogc/collections/tasks/items?f=html").await.text().await.unwrap();
    assert!(page.contains("城东&lt;河道&gt;清淤"), "text is escaped");
    let bad = problem(app.get("/ogc/collections/tasks/items?f=xml").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&bad), ["f"]);
}

/// Seven tasks, two of them internal, one created long ago and finished.
async fn ledger(app: &TestApp) {
    for (i, lon) in [119.81, 119.83, 119.85, 119.91, 119.95, 120.02, 120.08].iter().enumerate() {
        let extra = if i < 2 { json!({"visibility": "internal", "category": "energy"}) } else { json!({}) };
        app.create(&task_at(point(*lon, 30.8), extra)).await;
    }
    // History written as it was: past the trigger that keeps created_at from changing.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.unwrap();
    sqlx::query(
        "UPDATE tasks SET created_at = '2025-01-10T00:00:00Z', status = 'completed', progress = 100,
                completed_at = '2025-03-01T00:00:00Z'
         WHERE id = (SELECT id FROM tasks WHERE visibility = 'public' ORDER BY code LIMIT 1)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn items(caller: &Caller, query: &str) -> Value {
    let res = caller.get(&format!("/ogc/collections/tasks/items?{query}")).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/geo+json");
    res.json().await.unwrap()
}

#[tokio::test]
async fn items_page_with_links_and_follow_the_roles() {
    let app = spawn_app().await;
    ledger(&app).await;
    let anon = app.anonymous();

    let page = items(&anon, "limit=2").await;
    assert_eq!(page["numberMatched"], 5, "anonymous callers do not see internal tasks");
    assert_eq!(page["numberReturned"], 2);
    let next = page["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").expect("a next link");
    let href = next["href"].as_str().unwrap();
    assert!(href.starts_with(&app.base), "links are absolute: {href}");
    let second: Value = anon.client.get(href).send().await.unwrap().json().await.unwrap();
    assert_eq!(second["numberReturned"], 2);
    assert!(second["links"].as_array().unwrap().iter().any(|l| l["rel"] == "prev"));
    assert!(page["features"][0]["properties"].get("contact_person").is_none());

    assert_eq!(items(&app, "limit=2").await["numberMatched"], 7, "bureau staff see everything");
    // A limit over the maximum is lowered, not refused.
    assert_eq!(items(&anon, "limit=999999").await["numberReturned"], 5);
    assert_eq!(items(&anon, "bbox=119.9,30.7,120.1,31.0").await["numberMatched"], 4);
    assert_eq!(items(&app, "category=energy").await["numberMatched"], 2);
    assert_eq!(items(&anon, "category=energy").await["numberMatched"], 0);

    let bad = problem(anon.get("/ogc/collections/tasks/items?colour=red").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&bad), ["colour"]);
    let bad = problem(anon.get("/ogc/collections/tasks/items?bbox=1,2,3").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&bad), ["bbox"]);
}

#[tokio::test]
async fn datetime_selects_tasks_alive_in_the_interval() {
    let app = spawn_app().await;
    ledger(&app).await;
    assert_eq!(items(&app, "datetime=2025-02-01").await["numberMatched"], 1);
    assert_eq!(items(&app, "datetime=2025-04-01T00:00:00Z/..").await["numberMatched"], 6);
    assert_eq!(items(&app, "datetime=../2024-12-31").await["numberMatched"], 0);
    let bad = problem(app.get("/ogc/collections/tasks/items?datetime=soon").await, StatusCode::BAD_REQUEST).await;
    assert_eq!(pointers(&bad), ["datetime"]);
}

#[tokio::test]
async fn one_feature_by_id_as_the_caller_may_see_it() {
    let app = spawn_app().await;
    let (public_id, _, _) = app.create(&task_at(point(119.85, 30.8), json!({"contact_phone": "0571-1234567"}))).await;
    let (internal_id, _, _) = app.create(&task_at(point(119.86, 30.8), json!({"visibility": "internal"}))).await;
    let anon = app.anonymous();

    let res = anon.get(&format!("/ogc/collections/tasks/items/{public_id}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key(header::ETAG));
    let f: Value = res.json().await.unwrap();
    assert_eq!(f["id"], public_id.as_str());
    assert!(f["properties"].get("contact_phone").is_none());
    assert!(f["links"].as_array().unwrap().iter().any(|l| l["rel"] == "collection"));
    let staff: Value = app.get(&format!("/ogc/collections/tasks/items/{public_id}")).await.json().await.unwrap();
    assert_eq!(staff["properties"]["contact_phone"], "0571-1234567");

    problem(anon.get(&format!("/ogc/collections/tasks/items/{internal_id}")).await, StatusCode::NOT_FOUND).await;
    problem(anon.get("/ogc/collections/tasks/items/not-a-uuid").await, StatusCode::NOT_FOUND).await;
    let township: Value = anon.get(&format!("/ogc/collections/townships/items/{MIDDLE}")).await.json().await.unwrap();
    assert_eq!(township["properties"]["name"], "青溪镇");
    assert_eq!(township["geometry"]["type"], "MultiPolygon");
}

#[tokio::test]
async fn unchanged_pages_answer_304_and_public_ones_may_be_cached() {
    let app = spawn_app().await;
    app.create(&task_at(point(119.85, 30.8), json!({}))).await;
    let anon = app.anonymous();
    let first = anon.get("/ogc/collections/tasks/items").await;
    assert_eq!(first.headers()[header::CACHE_CONTROL], "public, max-age=60");
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let again = anon
        .request(reqwest::Method::GET, "/ogc/collections/tasks/items")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let staff = app.get("/ogc/collections/tasks/items").await;
    assert_eq!(staff.headers()[header::CACHE_CONTROL], "private, no-cache");

    app.create(&task_at(point(119.95, 30.8), json!({}))).await;
    let changed = anon
        .request(reqwest::Method::GET, "/ogc/collections/tasks/items")
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK, "a new task changes the page");
}

#[tokio::test]
async fn queryables_describe_the_filters_the_items_take() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    let tasks: Value = anon.get("/ogc/collections/tasks").await.json().await.unwrap();
    let link = tasks["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
        .expect("the collection links its queryables");
    let path = link["href"].as_str().unwrap().trim_start_matches(&app.base).to_owned();
    let res = anon.get(&path).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/schema+json");
    let schema: Value = res.json().await.unwrap();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["$id"], format!("{}{path}", app.base));
    assert_eq!(
        schema["properties"]["status"]["enum"],
        json!(["planned", "in_progress", "completed", "verified", "cancelled"])
    );
    let families = schema["properties"]["category"]["enum"].as_array().unwrap().clone();
    assert_eq!(families, json!(["watershed", "chemical", "energy", "village"]).as_array().unwrap().clone());
    assert_eq!(schema["properties"]["geometry"]["x-ogc-role"], "primary-geometry");

    // Each queryable but the geometry can be named in a CQL2 filter of the items, with a value of
    // the type the schema gives it.
    let example = |name: &str, p: &Value| match (name, p["enum"].as_array(), p["type"].as_str(), p["format"].as_str()) {
        (_, Some(values), ..) => format!("'{}'", values[0].as_str().unwrap()),
        (_, None, Some("boolean"), _) => "TRUE".to_owned(),
        (_, None, Some("number"), _) => "1".to_owned(),
        (_, None, Some("string"), Some("date")) => "DATE('2026-01-01')".to_owned(),
        (_, None, Some("string"), Some("date-time")) => "TIMESTAMP('2026-01-01T00:00:00Z')".to_owned(),
        (_, None, Some("string"), None) => "'x'".to_owned(),
        _ => panic!("{name}: no example for {p}"),
    };
    for (name, p) in schema["properties"].as_object().unwrap().iter().filter(|(n, _)| *n != "geometry") {
        let filter = urlencoding(&format!("{name} <> {} OR {name} IS NULL", example(name, p)));
        let items = anon.get(&format!("/ogc/collections/tasks/items?filter={filter}")).await;
        assert_eq!(items.status(), StatusCode::OK, "{name}");
    }
    let townships: Value = anon.get("/ogc/collections/townships/queryables").await.json().await.unwrap();
    assert_eq!(townships["properties"]["kind"]["enum"], json!(["town", "subdistrict", "development_zone"]));
    assert_eq!(
        anon.get("/ogc/collections/townships/items?kind=town").await.status(),
        StatusCode::OK,
        "a township queryable is a parameter too"
    );

    let conformance: Value = anon.get("/ogc/conformance").await.json().await.unwrap();
    assert!(
        conformance["conformsTo"].as_array().unwrap().iter().any(|c| c.as_str().unwrap().ends_with("/conf/queryables"))
    );
    problem(anon.get("/ogc/collections/rivers/queryables").await, StatusCode::NOT_FOUND).await;
    problem(anon.get("/ogc/collections/tasks/queryables?status=planned").await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn the_schema_describes_every_property_an_item_carries_with_its_type() {
    let app = spawn_app().await;
    app.create(&task_at(point(119.95, 30.85), json!({"contact_phone": "13900000000", "due_date": "2030-01-01"}))).await;
    let tasks: Value = app.anonymous().get("/ogc/collections/tasks").await.json().await.unwrap();
    let link =
        tasks["links"].as_array().unwrap().iter().find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/schema");
    let path = link.expect("the collection links its schema")["href"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    assert_eq!(path, "/ogc/collections/tasks/schema");

    for (caller, staff) in [(app.anonymous(), false), (app.bureau.clone(), true)] {
        let res = caller.get(&path).await;
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/schema+json");
        let schema: Value = res.json().await.unwrap();
        let described = schema["properties"].as_object().unwrap();
        assert_eq!(described["id"]["x-ogc-role"], "id");
        assert_eq!(described["geometry"]["x-ogc-role"], "primary-geometry");
        assert_eq!(described.contains_key("contact_phone"), staff, "contact fields for staff only");
        let items: Value = caller.get("/ogc/collections/tasks/items?limit=1").await.json().await.unwrap();
        let carried = items["features"][0]["properties"].as_object().unwrap();
        for (name, value) in carried {
            let d = described.get(name).unwrap_or_else(|| panic!("{name} is in the schema"));
            let types: Vec<&str> = match &d["type"] {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
                other => panic!("{name}: {other}"),
            };
            let kind = match value {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_i64() && types.contains(&"integer") => "integer",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                _ => "other",
            };
            assert!(types.contains(&kind), "{name}: {value} is not {types:?}");
        }
        for name in described.keys().filter(|n| *n != "id" && *n != "geometry") {
            assert!(carried.contains_key(name), "{name} is described but not carried");
        }
    }
    let townships: Value = app.anonymous().get("/ogc/collections/townships/schema").await.json().await.unwrap();
    assert_eq!(townships["properties"]["kind"]["enum"], json!(["town", "subdistrict", "development_zone"]));
    let conformance: Value = app.anonymous().get("/ogc/conformance").await.json().await.unwrap();
    assert!(
        conformance["conformsTo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().ends_with("features-5/1.0/conf/schemas"))
    );
    problem(app.anonymous().get("/ogc/collections/rivers/schema").await, StatusCode::NOT_FOUND).await;
}

/// Part 2: features in CRS84 (the default), EPSG:4326 and EPSG:4490 (latitude first) and EPSG:3857
/// (checked against PostGIS's own transformation), a bbox given in another system, `Content-Crs`.
#[tokio::test]
async fn features_come_in_the_system_asked_for_and_a_bbox_in_its_own() {
    let app = spawn_app().await;
    let (id, _, _) = app.create(&task_at(point(119.95, 30.85), json!({}))).await;
    let item = |crs: &str| {
        let path = format!("/ogc/collections/tasks/items/{id}?crs={crs}");
        let caller = app.anonymous();
        async move {
            let res = caller.get(&path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let content_crs = res.headers()["content-crs"].to_str().unwrap().to_owned();
            let body: Value = res.json().await.unwrap();
            (content_crs, body["geometry"]["coordinates"].clone())
        }
    };
    let (header, at) = item("http://www.opengis.net/def/crs/OGC/1.3/CRS84").await;
    assert_eq!((header.as_str(), at), ("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>", json!([119.95, 30.85])));
    for code in ["4326", "4490"] {
        let (header, at) = item(&format!("http://www.opengis.net/def/crs/EPSG/0/{code}")).await;
        assert_eq!(header, format!("<http://www.opengis.net/def/crs/EPSG/0/{code}>"));
        assert_eq!(at, json!([30.85, 119.95]), "EPSG:{code} is latitude first");
    }
    let (_, at) = item("http://www.opengis.net/def/crs/EPSG/0/3857").await;
    let (x, y): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, 3857) AS g FROM tasks WHERE id = $1::uuid) t",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        (at[0].as_f64().unwrap() - x).abs() < 0.01 && (at[1].as_f64().unwrap() - y).abs() < 0.01,
        "{at} vs {x} {y}"
    );

    // A bbox in Web Mercator metres finds the task; one beside it does not.
    let mercator = |w: f64, s: f64, e: f64, n: f64| {
        format!(
            "/ogc/collections/tasks/items?bbox={w},{s},{e},{n}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857&crs=http://www.opengis.net/def/crs/EPSG/0/3857"
        )
    };
    let around: Value =
        app.anonymous().get(&mercator(x - 50.0, y - 50.0, x + 50.0, y + 50.0)).await.json().await.unwrap();
    assert_eq!(around["features"].as_array().unwrap().len(), 1, "{around}");
    assert!(
        around["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "self" && l["href"].as_str().unwrap().contains("bbox-crs="))
    );
    let beside: Value = app.anonymous().get(&mercator(x + 100.0, y, x + 200.0, y + 100.0)).await.json().await.unwrap();
    assert_eq!(beside["numberMatched"], 0);
    // EPSG:4326's bbox is latitude first.
    let lat_first: Value = app
        .anonymous()
        .get("/ogc/collections/tasks/items?bbox=30.84,119.94,30.86,119.96&bbox-crs=[EPSG:4326]")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lat_first["numberMatched"], 1);

    let p = problem(
        app.anonymous().get("/ogc/collections/tasks/items?crs=http://www.opengis.net/def/crs/EPSG/0/4549").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(pointers(&p), ["crs"]);
    let p = problem(
        app.anonymous().get(&format!("/ogc/collections/tasks/items/{id}?crs=EPSG")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(pointers(&p), ["crs"]);
    let collection: Value = app.anonymous().get("/ogc/collections/tasks").await.json().await.unwrap();
    assert_eq!(collection["crs"].as_array().unwrap().len(), 4);
    let conformance: Value = app.anonymous().get("/ogc/conformance").await.json().await.unwrap();
    assert!(
        conformance["conformsTo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs")
    );
}

/// The ids of the tasks a query of the OGC items returns, and its numberMatched.
async fn filtered(caller: &Caller, query: &str) -> (Vec<String>, i64) {
    let res = caller.get(&format!("/ogc/collections/tasks/items?limit=10000&{query}")).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    let body: Value = res.json().await.unwrap();
    let mut ids: Vec<String> =
        body["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    (ids, body["numberMatched"].as_i64().unwrap())
}

fn q(filter: &str) -> String {
    format!("filter={}", urlencoding(filter))
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Part 3: CQL2 text and JSON on the queryables, compared with the same selection made here from
/// the unfiltered list; mistakes told with their position; private fields for staff only; values
/// never pasted into the SQL.
#[tokio::test]
async fn cql2_filters_select_what_they_say_in_text_and_json() {
    let app = spawn_app().await;
    let specs = [
        (119.86, json!({"status": "in_progress", "progress": 60, "title": "青溪河清淤", "due_date": "2026-03-01"})),
        (
            119.90,
            json!({"status": "in_progress", "progress": 20, "title": "白鹭港护岸", "contact_phone": "13900001111"}),
        ),
        (119.95, json!({"status": "planned", "title": "村口垃圾点", "category": "village", "due_date": "2026-09-30"})),
        (120.05, json!({"status": "completed", "title": "青溪河排口", "due_date": "2026-05-15"})),
    ];
    let mut ids = Vec::new();
    for (lon, props) in specs {
        ids.push(app.create(&task_at(point(lon, 30.85), props)).await.0);
    }
    let all: Value = app.get("/api/tasks?limit=10000").await.json().await.unwrap();
    let pick = |keep: &dyn Fn(&Value) -> bool| {
        let mut v: Vec<String> = all["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| keep(&f["properties"]))
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let anon = app.anonymous();
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "status = 'in_progress' AND progress >= 50",
            pick(&|p| p["status"] == "in_progress" && p["progress"].as_i64().unwrap() >= 50),
        ),
        ("title LIKE '青溪河%'", pick(&|p| p["title"].as_str().unwrap().starts_with("青溪河"))),
        ("status IN ('planned', 'completed')", pick(&|p| p["status"] == "planned" || p["status"] == "completed")),
        (
            "due_date BETWEEN DATE('2026-03-01') AND DATE('2026-06-30')",
            pick(&|p| p["due_date"].as_str().is_some_and(|d| ("2026-03-01"..="2026-06-30").contains(&d))),
        ),
        ("due_date IS NULL", pick(&|p| p["due_date"].is_null())),
        (
            "NOT (status = 'in_progress') OR progress < 30",
            pick(&|p| p["status"] != "in_progress" || p["progress"].as_i64().unwrap() < 30),
        ),
        (
            "S_INTERSECTS(geometry, BBOX(119.85, 30.8, 119.92, 30.9))",
            pick(&|p| p["title"] == "青溪河清淤" || p["title"] == "白鹭港护岸"),
        ),
    ];
    for (filter, expected) in &cases {
        let (got, matched) = filtered(&anon, &q(filter)).await;
        assert_eq!(&got, expected, "{filter}");
        assert_eq!(matched, expected.len() as i64, "{filter}");
    }
    let json_filter = json!({"op": "and", "args": [
        {"op": "=", "args": [{"property": "status"}, "in_progress"]},
        {"op": ">=", "args": [{"property": "progress"}, 50]}]});
    let (got, _) = filtered(&anon, &format!("filter-lang=cql2-json&{}", q(&json_filter.to_string()))).await;
    assert_eq!(got, cases[0].1, "the JSON encoding selects as the text does");
    // The paging links keep the filter.
    let page: Value = anon
        .get(&format!("/ogc/collections/tasks/items?limit=1&{}", q("status = 'in_progress'")))
        .await
        .json()
        .await
        .unwrap();
    let next = page["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap();
    assert!(next["href"].as_str().unwrap().contains("filter="), "{next}");

    // Mistakes say where; a private field is the bureau's; a value is a value, never SQL.
    let p =
        problem(anon.get(&format!("/ogc/collections/tasks/items?{}", q("status = "))).await, StatusCode::BAD_REQUEST)
            .await;
    assert_eq!(p["errors"][0]["pointer"], "filter");
    assert_eq!(p["errors"][0]["params"]["at"], "character 10 (the end)");
    let p = problem(
        anon.get(&format!("/ogc/collections/tasks/items?{}", q("progress = 'high'"))).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["errors"][0]["detail"].as_str().unwrap().contains("number"), "{p}");
    let private = q("contact_phone = '13900001111'");
    let p = problem(anon.get(&format!("/ogc/collections/tasks/items?{private}")).await, StatusCode::BAD_REQUEST).await;
    assert!(p["errors"][0]["detail"].as_str().unwrap().contains("contact_phone"), "{p}");
    let township = app.login(&format!("township-{MIDDLE}")).await;
    assert_eq!(
        township.get(&format!("/ogc/collections/tasks/items?{private}")).await.status(),
        StatusCode::BAD_REQUEST
    );
    let (got, _) = filtered(&app.bureau, &private).await;
    assert_eq!(got, vec![ids[1].clone()]);
    let before = app.task_count().await;
    let (got, _) = filtered(&anon, &q("title = 'x''; DELETE FROM tasks; --'")).await;
    assert!(got.is_empty());
    assert_eq!(app.task_count().await, before);
    let p = problem(anon.get("/ogc/collections/tasks/items?filter=x&filter-lang=ecql").await, StatusCode::BAD_REQUEST)
        .await;
    assert_eq!(p["errors"][0]["pointer"], "filter");
    // The same filter on /api/tasks.
    let res: Value = anon.get(&format!("/api/tasks?{}", q("status = 'planned'"))).await.json().await.unwrap();
    assert!(res["features"].as_array().unwrap().iter().all(|f| f["properties"]["status"] == "planned"));

    let queryables: Value = anon.get("/ogc/collections/tasks/queryables").await.json().await.unwrap();
    assert!(
        queryables["properties"].get("progress").is_some() && queryables["properties"].get("contact_phone").is_none()
    );
    let staff: Value = app.get("/ogc/collections/tasks/queryables").await.json().await.unwrap();
    assert!(staff["properties"].get("contact_phone").is_some());
    let conformance: Value = anon.get("/ogc/conformance").await.json().await.unwrap();
    let classes = conformance["conformsTo"].as_array().unwrap();
    assert!(classes.iter().any(|c| c == "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text"));
}
