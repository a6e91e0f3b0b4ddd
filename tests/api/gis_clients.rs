//! Real GIS clients filtering on the server: GDAL's OAPIF reader (`ogrinfo -where`, Debian's
//! gdal-bin), OWSLib (Debian's python3-owslib) and QGIS's own reader (its OAPIF provider, Debian's
//! python3-qgis and qgis-providers), each checked against the ledger's own answer.

use std::collections::BTreeSet;
use std::process::Command;

use crate::helpers::*;
use crate::ogc_api::demo_county;
use serde_json::Value;

/// `ogrinfo -ro -al` on the tasks with `where` and GDAL's debug output on: (stdout, stderr).
async fn ogrinfo_where(base: &str, filter: &str) -> (String, String) {
    let args = ["-ro", "-al", "-where", filter, &format!("OAPIF:{base}/ogc"), "tasks"].map(str::to_owned);
    crate::ogc_api::ogrinfo_logged(args.to_vec(), true).await
}

/// The task ids ogrinfo printed, one per feature.
fn gdal_ids(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.strip_prefix("  id (String) = ")).map(str::to_owned).collect()
}

/// The feature ids of a GeoJSON answer.
fn ids_of(doc: &Value) -> Vec<String> {
    doc["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

/// The requests GDAL logged (`HTTP: Fetch(url)`) for the items.
fn item_fetches(stderr: &str) -> Vec<&str> {
    stderr.lines().filter_map(|l| l.strip_prefix("HTTP: Fetch(")).filter(|u| u.contains("/items")).collect()
}

/// What an anonymous caller of /api/tasks gets for `query` (the public ledger, as GDAL sees it).
async fn api_ids(app: &TestApp, query: &str) -> Vec<String> {
    let doc: Value = app.anonymous().get(&format!("/api/tasks?{query}&limit=10000")).await.json().await.unwrap();
    let ids = ids_of(&doc);
    assert_eq!(doc["numberMatched"].as_u64(), Some(ids.len() as u64), "{query}: one page holds them all");
    ids
}

#[tokio::test]
async fn gdal_sends_its_where_to_the_server_and_gets_the_ledgers_answer() {
    let app = spawn_app().await;
    demo_county(&app).await;

    let (out, err) = ogrinfo_where(&app.base, "status = 'planned'").await;
    assert!(err.contains("OAPIF: CQL text detected"), "{err}");
    let fetches = item_fetches(&err);
    let pushed = "/ogc/collections/tasks/items?limit=10&filter=status%20%3D%20'planned'&filter-lang=cql-text)";
    assert!(fetches.iter().any(|u| u.ends_with(pushed)), "the filter goes to the server: {fetches:#?}");
    // Every page GDAL reads is a filtered one (the first, unfiltered, only learns the fields).
    assert!(fetches.iter().skip(1).all(|u| u.contains("filter=")), "{fetches:#?}");
    assert!(!err.contains("evaluated on client side"), "{err}");
    let planned = api_ids(&app, "status=planned").await;
    assert!(planned.len() > 20, "the demo has planned public tasks ({})", planned.len());
    let got = gdal_ids(&out);
    assert_eq!(got.len(), planned.len(), "no feature twice");
    assert_eq!(set(&got), set(&planned));

    // A family and a deadline: both sent, the date as GDAL writes it ('YYYY-MM-DDT').
    let day: String = sqlx::query_scalar(
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY due_date)::text FROM tasks
          WHERE category = 'watershed' AND visibility = 'public'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (out, err) = ogrinfo_where(&app.base, &format!("category = 'watershed' AND due_date < '{day}'")).await;
    let sent =
        format!("filter=(category%20%3D%20'watershed')%20AND%20(due_date%20%3C%20'{day}T')&filter-lang=cql-text");
    assert!(item_fetches(&err).iter().any(|u| u.contains(&sent)), "{err}");
    assert!(!err.contains("evaluated on client side"), "{err}");
    let expected: Vec<String> = sqlx::query_scalar(
        "SELECT id::text FROM tasks WHERE category = 'watershed' AND visibility = 'public' AND due_date < $1::date",
    )
    .bind(&day)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let watershed = api_ids(&app, "category=watershed").await;
    assert!(expected.len() > 3 && expected.len() < watershed.len(), "the day splits the family");
    assert_eq!(set(&gdal_ids(&out)), set(&expected));

    // ILIKE, the draft's and OGR's, not CQL2's: sent, and read without regard to case.
    let (out, err) = ogrinfo_where(&app.base, "code ILIKE 'ch-%'").await;
    assert!(item_fetches(&err).iter().any(|u| u.contains("filter=code%20ILIKE%20'ch-%25'&")), "{err}");
    let expected: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM tasks WHERE code LIKE 'CH-%' AND visibility = 'public'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(expected.len() > 3, "the demo has chemical plants ({})", expected.len());
    assert_eq!(set(&gdal_ids(&out)), set(&expected));
}

#[tokio::test]
async fn what_gdal_cannot_send_it_filters_itself_with_the_same_result() {
    let app = spawn_app().await;
    demo_county(&app).await;
    // GDAL's CQL writer has no IN: it reads every page and filters on its side.
    let (out, err) = ogrinfo_where(&app.base, "status IN ('planned', 'in_progress')").await;
    assert!(err.contains("OAPIF: Full filter will be evaluated on client side."), "{err}");
    assert!(item_fetches(&err).iter().all(|u| !u.contains("filter=")), "{err}");
    let expected = api_ids(&app, "status=planned,in_progress").await;
    assert!(expected.len() > api_ids(&app, "status=planned").await.len());
    assert_eq!(set(&gdal_ids(&out)), set(&expected));

    // Half sent: the supervised flag (1, as OGR writes true) goes down, the township name is no
    // queryable, so GDAL checks that half itself.
    let (out, err) = ogrinfo_where(&app.base, "supervised = 1 AND township_name = '白鹭镇'").await;
    assert!(err.contains("OAPIF: Only part of the filter will be evaluated on server side."), "{err}");
    assert!(item_fetches(&err).iter().any(|u| u.contains("filter=supervised%20%3D%201&")), "{err}");
    let expected: Vec<String> = sqlx::query_scalar(
        "SELECT t.id::text FROM tasks t JOIN townships w ON w.code = t.township_code
          WHERE t.supervised AND w.name = '白鹭镇' AND t.visibility = 'public'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(!expected.is_empty(), "the demo supervises some of 白鹭镇's tasks");
    assert_eq!(set(&gdal_ids(&out)), set(&expected));
}

/// Runs `script` with Debian's Python (where python3-owslib is) and the service's base URL; its
/// stdout is JSON.
async fn python_json(script: &'static str, base: &str) -> Value {
    let base = base.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
        Command::new(python).args(["-c", script, &base]).output().expect("python3 runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "python3 with OWSLib and PyQGIS (installed by scripts/deps.sh test): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const OWSLIB: &str = r#"
import json, sys
from owslib.ogcapi.features import Features
api = Features(sys.argv[1] + "/ogc")
out = {"queryables": api.collection_queryables("tasks")}
out["text"] = api.collection_items("tasks", limit=1000, filter="status = 'planned' AND progress >= 0")
out["page"] = api.collection_items("tasks", limit=7, filter="status = 'planned'")
out["json"] = api.collection_items("tasks", limit=1000, **{
    "filter-lang": "cql2-json",
    "filter": json.dumps({"op": "and", "args": [
        {"op": "=", "args": [{"property": "category"}, "watershed"]},
        {"op": "=", "args": [{"property": "overdue"}, True]}]})})
try:
    api.collection_items("tasks", filter="status = = 'planned'")
    out["bad"] = None
except RuntimeError as e:
    out["bad"] = json.loads(str(e))
print(json.dumps(out))
"#;

#[tokio::test]
async fn owslib_reads_the_queryables_and_filters_with_cql2() {
    let app = spawn_app().await;
    demo_county(&app).await;
    let out = python_json(OWSLIB, &app.base).await;

    let queryables = &out["queryables"];
    assert_eq!(queryables["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(queryables["properties"]["due_date"]["format"], "date");
    assert!(queryables["properties"]["contact_phone"].is_null(), "anonymous: no private queryables");
    let families = queryables["properties"]["category"]["enum"].as_array().unwrap();
    assert!(families.iter().any(|f| f == "watershed"), "{families:?}");

    let planned = api_ids(&app, "status=planned").await;
    assert_eq!(out["text"]["numberMatched"].as_u64(), Some(planned.len() as u64));
    assert_eq!(set(&ids_of(&out["text"])), set(&planned));
    assert_eq!(ids_of(&out["page"]).len(), 7, "limit is kept");
    assert_eq!(out["page"]["numberMatched"].as_u64(), Some(planned.len() as u64));
    assert!(set(&ids_of(&out["page"])).is_subset(&set(&planned)));

    let overdue_watershed = api_ids(&app, "category=watershed&overdue=true").await;
    assert!(!overdue_watershed.is_empty());
    assert_eq!(set(&ids_of(&out["json"])), set(&overdue_watershed));

    // A mistake in the filter: 400 with where it is, as OWSLib hands the answer over.
    let bad = &out["bad"];
    assert_eq!(bad["status"], 400, "{bad}");
    assert_eq!(bad["errors"][0]["code"], "bad_filter", "{bad}");
    assert_eq!(bad["errors"][0]["pointer"], "filter", "{bad}");
    assert_eq!(bad["errors"][0]["params"]["at"], "character 10", "{bad}");
}

/// PyQGIS, headless: the tasks layer as QGIS opens it from the landing page, a box drawn on the map
/// (exact intersection, as QGIS's identify and select tools ask), a layer filter, and the points.
const QGIS: &str = r#"
import json, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsFeatureRequest, QgsRectangle, QgsVectorLayer, QgsWkbTypes
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(f"url='{sys.argv[1]}/ogc' typename='tasks'", "tasks", "OAPIF")
out = {"valid": layer.isValid(), "crs": layer.crs().authid(), "fields": [f.name() for f in layer.fields()]}
box = QgsRectangle(119.80, 30.70, 119.95, 30.85)
request = QgsFeatureRequest().setFilterRect(box).setFlags(QgsFeatureRequest.ExactIntersect)
out["box"] = [f["id"] for f in layer.getFeatures(request)]
out["points"], out["all"] = {}, 0
for f in layer.getFeatures():
    out["all"] += 1
    g = f.geometry()
    if g.type() == QgsWkbTypes.PointGeometry and not g.isMultipart():
        out["points"][f["id"]] = [g.asPoint().x(), g.asPoint().y()]
layer.setSubsetString("status = 'planned'")
out["planned"] = [f["id"] for f in layer.getFeatures()]
print(json.dumps(out))
del layer
app.exitQgis()
"#;

#[tokio::test]
async fn qgis_reads_the_tasks_a_box_and_a_filter_as_the_api_answers() {
    let app = spawn_app().await;
    demo_county(&app).await;
    let out = python_json(QGIS, &app.base).await;

    assert_eq!(out["valid"], true, "{out}");
    assert_eq!(out["crs"], "EPSG:4326", "{out}");
    let fields: Vec<&str> = out["fields"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for f in ["id", "code", "title", "category", "status", "due_date", "township"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    assert!(!fields.contains(&"contact_phone"), "anonymous: no private fields: {fields:?}");

    let all: Value = app.anonymous().get("/api/tasks?limit=10000").await.json().await.unwrap();
    assert_eq!(out["all"].as_u64(), all["numberMatched"].as_u64(), "every public task, paged through");
    let boxed = api_ids(&app, "bbox=119.80,30.70,119.95,30.85").await;
    assert!(!boxed.is_empty() && boxed.len() < ids_of(&all).len(), "the box holds some tasks: {}", boxed.len());
    let in_box: Vec<String> = out["box"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(in_box.len(), boxed.len(), "no feature twice");
    assert_eq!(set(&in_box), set(&boxed));
    let planned: Vec<String> =
        out["planned"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(set(&planned), set(&api_ids(&app, "status=planned").await));

    // Where QGIS draws each point is where the ledger keeps it.
    let points = out["points"].as_object().unwrap();
    let mut compared = 0;
    for f in all["features"].as_array().unwrap().iter().filter(|f| f["geometry"]["type"] == "Point") {
        let at = &points[f["id"].as_str().unwrap()];
        let c = &f["geometry"]["coordinates"];
        for i in 0..2 {
            assert!((at[i].as_f64().unwrap() - c[i].as_f64().unwrap()).abs() < 1e-9, "{} at {at} not {c}", f["id"]);
        }
        compared += 1;
    }
    assert!(compared > 10 && compared == points.len(), "{compared} points of {}", points.len());
}

#[tokio::test]
async fn every_path_of_the_ogc_description_answers_under_its_server() {
    let app = spawn_app().await;
    let (task, _, _) = app.create(&task_at(point(119.95, 30.85), serde_json::json!({}))).await;
    let api: Value = app.anonymous().get("/ogc/api").await.json().await.unwrap();
    let server = api["servers"][0]["url"].as_str().unwrap();
    let prefix = server.strip_prefix(app.base.as_str()).expect("the server is this service");
    assert_eq!(prefix, "/ogc");
    let paths = api["paths"].as_object().unwrap();
    assert!(paths.contains_key("/collections/{collectionId}/items"), "where GDAL looks: {:?}", paths.keys());
    for (path, ops) in paths {
        assert!(!path.starts_with("/ogc"), "{path} is keyed from the server");
        let Some(get) = ops.get("get") else { continue };
        let url = format!("{prefix}{path}").replace("{collectionId}", "tasks").replace("{featureId}", &task);
        let res = app.get(&url).await;
        assert_eq!(res.status(), reqwest::StatusCode::OK, "{} at {url}", get["operationId"]);
    }
    // The items' parameters say what GDAL needs before it sends a filter: the draft's language.
    let params = api["paths"]["/collections/{collectionId}/items"]["get"]["parameters"].as_array().unwrap();
    let lang = params.iter().find(|p| p["name"] == "filter-lang").unwrap();
    assert!(lang["schema"]["enum"].as_array().unwrap().iter().any(|l| l == "cql-text"));
}
