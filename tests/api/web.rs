//! The web map as the service delivers it: its settings, its files and the libraries from npm.

use crate::helpers::*;
use greenledger::store::DbConfig;
use greenledger::{AppState, ServerConfig};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn the_map_draws_no_tile_layer_unless_one_is_configured() {
    let app = spawn_app().await;
    let body: Value = app.anonymous().get("/api/config").await.json().await.unwrap();
    assert_eq!(body, json!({"tile_layer": null, "timezone": "Asia/Shanghai"}));
}

#[tokio::test]
async fn a_configured_tile_layer_and_time_zone_reach_the_map() {
    let mut server = ServerConfig::new("127.0.0.1:0".parse().unwrap(), "web", std::env::temp_dir());
    server.tile_url = Some("https://tile.openstreetmap.org/{z}/{x}/{y}.png".into());
    server.tile_attribution = Some("© OpenStreetMap contributors".into());
    // The settings endpoint never touches the database.
    let db_config =
        DbConfig { timezone: "Asia/Urumqi".into(), ..DbConfig::new("postgres://postgres@127.0.0.1:1/none") };
    let db = db_config.pool().unwrap();
    let listener = tokio::net::TcpListener::bind(server.addr).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = greenledger::app(AppState::new(db, &server, &db_config.timezone).unwrap(), &server);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let body: Value = reqwest::get(format!("{base}/api/config")).await.unwrap().json().await.unwrap();
    assert_eq!(body["tile_layer"]["url"], "https://tile.openstreetmap.org/{z}/{x}/{y}.png");
    assert_eq!(body["tile_layer"]["attribution"], "© OpenStreetMap contributors");
    assert_eq!(body["timezone"], "Asia/Urumqi", "the county's zone, as the database sessions use it");
}

#[tokio::test]
async fn the_map_page_is_served_at_the_root_and_revalidated() {
    let app = spawn_app().await;
    let res = app.anonymous().get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
    let page = res.text().await.unwrap();
    assert!(page.contains("/node_modules/leaflet/dist/leaflet.js"), "the page loads Leaflet from npm's folder");

    let res = app.anonymous().get("/js/app.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
}

#[tokio::test]
async fn libraries_come_from_npm_compressed_and_cacheable_for_a_day() {
    // web/node_modules is what `npm ci` in web/ installs (scripts/deps.sh runs it before the tests).
    let app = spawn_app().await;
    for path in [
        "/node_modules/leaflet/dist/leaflet.js",
        "/node_modules/leaflet.markercluster/dist/leaflet.markercluster.js",
        "/node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
        "/node_modules/chart.js/dist/chart.umd.min.js",
    ] {
        let res = app.client.get(app.url(path)).header(header::ACCEPT_ENCODING, "gzip").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"), "{path}");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip", "{path}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=86400", "{path}");
    }
    let res = app.anonymous().get("/node_modules/leaflet/dist/leaflet.css").await;
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn a_missing_file_is_a_problem_document_and_not_cached() {
    let app = spawn_app().await;
    let res = app.anonymous().get("/js/no-such-module.js").await;
    assert!(res.headers().get(header::CACHE_CONTROL).is_none());
    problem(res, StatusCode::NOT_FOUND).await;
}
