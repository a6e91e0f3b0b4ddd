//! Township boundaries from the files counties have: the demo county written by GDAL's ogr2ogr as a
//! GBK Shapefile in a CGCS2000 Gauss-Krüger zone (with and without its .cpg), as a GeoPackage and as
//! a zipped Shapefile, imported through the API and the command line, and compared with the
//! originals; and every kind of bad file refused with a message naming it, changing nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::helpers::*;

/// A scratch folder for one test's files, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("greenledger-boundaries-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.path(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    /// Runs ogr2ogr in the folder: `out` is written from the demo townships with `args`.
    fn ogr2ogr(&self, out: &str, args: &[&str]) {
        let status = Command::new("ogr2ogr")
            .current_dir(&self.0)
            .args(args)
            .arg(out)
            .arg(demo_townships())
            .status()
            .expect("ogr2ogr runs (gdal-bin; scripts/deps.sh installs it)");
        assert!(status.success(), "ogr2ogr {args:?} {out}");
    }

    /// The demo townships as a GBK Shapefile in CGCS2000 / 3-degree Gauss-Krüger CM 120E.
    fn gbk_shapefile(&self) {
        self.ogr2ogr("towns.shp", &["-f", "ESRI Shapefile", "-t_srs", "EPSG:4549", "-lco", "ENCODING=GBK"]);
    }

    /// The files in one .zip archive, deflated, as a county's GIS office would send them.
    fn zip(&self, files: &[&str]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for f in files {
            zip.start_file(format!("乡镇界线/{f}"), zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(&self.read(f)).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn demo_townships() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/townships.geojson")
}

async fn upload(caller: &Caller, files: Vec<(&str, Vec<u8>)>, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form = Form::new();
    for (name, bytes) in files {
        form = form.part("file", Part::bytes(bytes).file_name(name.to_owned()));
    }
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    caller.request(reqwest::Method::POST, "/api/townships/import").multipart(form).send().await.unwrap()
}

async fn report(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The demo townships' names and areas (km², on the ellipsoid), computed by PostGIS from the file.
async fn originals(app: &TestApp) -> BTreeMap<String, (String, f64)> {
    let doc: Value = serde_json::from_slice(&std::fs::read(demo_townships()).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for f in doc["features"].as_array().unwrap() {
        let area: f64 = sqlx::query_scalar("SELECT ST_Area(ST_GeomFromGeoJSON($1)::geography) / 1e6")
            .bind(f["geometry"].to_string())
            .fetch_one(&app.db)
            .await
            .unwrap();
        let p = &f["properties"];
        out.insert(p["code"].as_str().unwrap().to_owned(), (p["name"].as_str().unwrap().to_owned(), area));
    }
    out
}

/// The ledger's townships: code -> (name, area km²).
async fn stored(app: &TestApp) -> BTreeMap<String, (String, f64)> {
    let fc: Value = app.get("/api/townships").await.json().await.unwrap();
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["code"].as_str().unwrap().to_owned(),
                (p["name"].as_str().unwrap().to_owned(), p["area_km2"].as_f64().unwrap()),
            )
        })
        .collect()
}

/// Same codes, same names, every area within 0.1 % of the original's.
async fn assert_the_demo_county(app: &TestApp) {
    let (want, got) = (originals(app).await, stored(app).await);
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    for (code, (name, area)) in &want {
        let (got_name, got_area) = &got[code];
        assert_eq!(got_name, name, "{code}");
        assert!((got_area - area).abs() / area < 0.001, "{code}: {got_area} km² stored, {area} km² in the file");
    }
}

#[tokio::test]
async fn a_gbk_shapefile_in_a_gauss_kruger_zone_is_checked_then_applied_moving_tasks_with_history() {
    let app = spawn_app().await;
    let files = Scratch::new("gbk");
    files.gbk_shapefile();
    assert_eq!(files.read("towns.cpg"), b"GBK", "ogr2ogr names the encoding");
    let qingxi_gbk = [0xc7, 0xe0, 0xcf, 0xaa, 0xd5, 0xf2]; // 青溪镇
    assert!(files.read("towns.dbf").windows(6).any(|w| w == qingxi_gbk), "the names are stored in GBK");
    // A task in the fixture's west strip: under the demo boundaries it belongs elsewhere.
    let (id, _, _) = app.create(&task_at(point(119.85, 30.80), serde_json::json!({}))).await;
    let expected: String = sqlx::query_scalar(
        "SELECT f->'properties'->>'code' FROM json_array_elements($1::json->'features') f
         WHERE ST_Contains(ST_GeomFromGeoJSON(f->>'geometry'), ST_Point(119.85, 30.80, 4326))",
    )
    .bind(String::from_utf8(std::fs::read(demo_townships()).unwrap()).unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_ne!(expected, WEST, "the point must change township for this test to mean anything");
    let shapefile =
        || ["towns.shp", "towns.shx", "towns.dbf", "towns.prj", "towns.cpg"].map(|f| (f, files.read(f))).to_vec();
    let admin = app.login("admin").await;

    let dry = report(upload(&admin, shapefile(), &[]).await).await;
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["crs"], "EPSG:4549");
    assert_eq!(dry["townships"], 12);
    assert_eq!(dry["source"]["format"], "Shapefile");
    assert!(dry["source"]["encoding"].as_str().unwrap().starts_with("GBK"), "{}", dry["source"]);
    assert_eq!(dry["added"].as_array().unwrap().len(), 9);
    assert_eq!(dry["changed"], serde_json::json!([WEST, MIDDLE, EAST]));
    assert_eq!(dry["gaps"], serde_json::json!([]), "the demo county has no gaps");
    assert_eq!(dry["overlaps"], serde_json::json!([]));
    let county: f64 = originals(&app).await.values().map(|(_, a)| a).sum();
    assert!((dry["county_area_km2"].as_f64().unwrap() - county).abs() / county < 0.001, "{}", dry["county_area_km2"]);
    let moved = dry["moves"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).expect("the task moves");
    assert_eq!((moved["before"].as_str(), moved["after"].as_str()), (Some(WEST), Some(expected.as_str())));
    assert_eq!(stored(&app).await.len(), 3, "a dry run stores nothing");
    let task: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(task["properties"]["township"], WEST);

    let applied = report(upload(&admin, shapefile(), &[("apply", "true")]).await).await;
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["moves"], dry["moves"], "applying does what the dry run said");
    assert_the_demo_county(&app).await;
    let task: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(task["properties"]["township"], expected.as_str());
    let history: Value = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["changes"]["township"], serde_json::json!({"before": WEST, "after": expected}));
    assert_eq!(last["actor"], "admin");
}

#[tokio::test]
async fn without_its_cpg_a_gbk_shapefile_is_recognised_by_decoding_on_the_command_line() {
    let app = spawn_app().await;
    let files = Scratch::new("nocpg");
    files.gbk_shapefile();
    std::fs::remove_file(files.path("towns.cpg")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(["townships", "import"])
        .arg(files.path("towns.shp"))
        .arg("--apply")
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("GBK (detected"), "{stdout}");
    assert!(stdout.contains("EPSG:4549"), "{stdout}");
    assert_the_demo_county(&app).await;
}

#[tokio::test]
async fn a_geopackage_in_cgcs2000_is_imported() {
    let app = spawn_app().await;
    let files = Scratch::new("gpkg");
    files.ogr2ogr("towns.gpkg", &["-f", "GPKG", "-t_srs", "EPSG:4490", "-nln", "乡镇"]);
    let admin = app.login("admin").await;
    let r = report(upload(&admin, vec![("towns.gpkg", files.read("towns.gpkg"))], &[("apply", "true")]).await).await;
    assert_eq!((r["crs"].as_str(), r["source"]["format"].as_str()), (Some("EPSG:4490"), Some("GeoPackage")));
    assert_the_demo_county(&app).await;
}

#[tokio::test]
async fn a_zipped_shapefile_is_imported() {
    let app = spawn_app().await;
    let files = Scratch::new("zip");
    files.gbk_shapefile();
    let zip = files.zip(&["towns.shp", "towns.shx", "towns.dbf", "towns.prj", "towns.cpg"]);
    let admin = app.login("admin").await;
    let r = report(upload(&admin, vec![("乡镇界线.zip", zip)], &[("apply", "true")]).await).await;
    assert_eq!(r["applied"], true);
    assert_the_demo_county(&app).await;
}

/// Sends the files and expects a 422 whose first error points at `pointer` and says `says`; the
/// townships stay the fixture's three.
async fn refused(
    app: &TestApp,
    admin: &Caller,
    files: Vec<(&str, Vec<u8>)>,
    fields: &[(&str, &str)],
    pointer: &str,
    says: &str,
) {
    let body = problem(upload(admin, files, fields).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(pointers(&body).first().map(String::as_str), Some(pointer), "{body}");
    assert!(body["detail"].as_str().unwrap().contains(says), "expected '{says}' in {body}");
    assert_eq!(stored(app).await.len(), 3, "a refused file changes nothing");
}

#[tokio::test]
async fn bad_boundary_files_are_refused_naming_the_file_feature_or_field() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let files = Scratch::new("bad");
    files.gbk_shapefile();
    let zip = files.zip(&["towns.shp", "towns.shx", "towns.dbf", "towns.prj", "towns.cpg"]);

    let kml = b"<?xml version=\"1.0\"?><kml xmlns=\"http://www.opengis.net/kml/2.2\"></kml>".to_vec();
    refused(&app, &admin, vec![("towns.kml", kml)], &[], "/file", "towns.kml is not a GeoJSON FeatureCollection").await;
    let broken = zip[..zip.len() / 2].to_vec();
    refused(&app, &admin, vec![("towns.zip", broken)], &[], "/file", "towns.zip is not a readable .zip archive").await;
    let no_dbf = vec![("towns.shp", files.read("towns.shp")), ("towns.prj", files.read("towns.prj"))];
    refused(&app, &admin, no_dbf, &[], "/file", "towns.shp has no towns.dbf beside it").await;
    let no_prj = vec![("towns.shp", files.read("towns.shp")), ("towns.dbf", files.read("towns.dbf"))];
    refused(&app, &admin, no_prj.clone(), &[], "/crs", "--crs EPSG:").await;
    refused(&app, &admin, no_prj, &[("crs", "EPSG:999999")], "/crs", "EPSG:999999 is not a coordinate system PostGIS")
        .await;

    files.ogr2ogr(
        "points.shp",
        &[
            "-f",
            "ESRI Shapefile",
            "-dialect",
            "SQLite",
            "-sql",
            "SELECT code, name, ST_PointOnSurface(geometry) FROM townships",
        ],
    );
    let points = ["points.shp", "points.shx", "points.dbf", "points.prj"].map(|f| (f, files.read(f))).to_vec();
    refused(&app, &admin, points, &[], "/file/features/0/geometry", "feature 0 is a point").await;

    let mut doc: Value = serde_json::from_slice(&std::fs::read(demo_townships()).unwrap()).unwrap();
    doc["features"][5]["properties"]["code"] = doc["features"][0]["properties"]["code"].clone();
    let duplicate = vec![("towns.geojson", doc.to_string().into_bytes())];
    refused(&app, &admin, duplicate, &[], "/file/features/5/properties/code", "the code 330599001 is also feature 0's")
        .await;
    let missing = vec![("towns.geojson", doc.to_string().into_bytes())];
    refused(&app, &admin, missing, &[("code_field", "XZQDM")], "/code_field", "the file has no column 'XZQDM'").await;

    files.ogr2ogr("projected.geojson", &["-f", "GeoJSON", "-t_srs", "EPSG:4549", "-lco", "WRITE_NAME=NO"]);
    let mut projected: Value = serde_json::from_slice(&files.read("projected.geojson")).unwrap();
    projected.as_object_mut().unwrap().remove("crs");
    let projected = vec![("towns.geojson", projected.to_string().into_bytes())];
    refused(&app, &admin, projected, &[], "/crs", "its coordinates are not longitude/latitude").await;

    let bureau = problem(upload(&app, vec![("towns.zip", zip)], &[]).await, StatusCode::FORBIDDEN).await;
    assert!(bureau["detail"].as_str().unwrap().contains("administrator"), "{bureau}");
}
