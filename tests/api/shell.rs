//! The app shell as a browser meets it: the page names every asset under one versioned path, a
//! versioned asset is kept a year, the service worker and the manifest are there for installing.

use crate::helpers::*;
use reqwest::{StatusCode, header};
use serde_json::Value;

/// The version the page's asset URLs carry.
fn version_in(page: &str) -> String {
    let at = page.find("src=\"/v/").expect("the page's module under a versioned path") + "src=\"/v/".len();
    page[at..].split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_page_names_its_assets_by_version_and_preloads_the_start_up_modules() {
    let app = spawn_app().await;
    let res = app.anonymous().get("/").await;
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "the page itself is always revalidated");
    let page = res.text().await.unwrap();
    let v = version_in(&page);
    assert_eq!(v.len(), 12);
    // The modules combined (scripts/build-web.sh): the page loads the combined start-up file and
    // preloads what it imports, in one round trip; the import map only the modules need is gone.
    assert!(page.contains(&format!("<script type=\"module\" src=\"/v/{v}/dist/app.js\">")));
    assert!(!page.contains("importmap") && !page.contains("/js/"), "no module of web/js is named");
    let preloads: Vec<&str> =
        page.split("<link rel=\"modulepreload\" href=\"").skip(1).map(|s| s.split('"').next().unwrap()).collect();
    assert!(preloads.contains(&format!("/v/{v}/dist/app.js").as_str()), "{preloads:?}");
    assert!(preloads.len() <= 8, "a handful of files, not fifty: {preloads:?}");
    for url in &preloads {
        let res = app.anonymous().get(url).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"), "{url}");
    }
    for (module, what) in [
        ("js/editor.js", "the bureau's editor"),
        ("js/review.js", "the review queue"),
        ("js/admin.js", "the administrator's pages"),
    ] {
        let file = combined_file_of(module);
        assert!(!page.contains(&file), "{what} ({file}) is not preloaded for everyone");
    }
    assert!(!page.contains("\"/js/") && !page.contains("\"/node_modules/"), "no unversioned asset URL left");
    assert!(page.contains(&format!("<link rel=\"manifest\" href=\"/v/{v}/manifest.webmanifest\">")));
    let same = app.anonymous().get("/index.html").await.text().await.unwrap();
    assert_eq!(same, page);
}

#[tokio::test]
async fn a_versioned_asset_is_kept_a_year_and_an_old_version_is_revalidated() {
    let app = spawn_app().await;
    let v = version_in(&app.anonymous().get("/").await.text().await.unwrap());
    let res = app.anonymous().get(&format!("/v/{v}/js/app.js")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let body = res.text().await.unwrap();
    assert_eq!(body, app.anonymous().get("/js/app.js").await.text().await.unwrap(), "the same file as its plain URL");

    let res = app.anonymous().get(&format!("/v/{v}/node_modules/leaflet/dist/leaflet.js")).await;
    assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let res = app.anonymous().get("/v/000000000000/js/app.js").await;
    assert_eq!(res.status(), StatusCode::OK, "a page of the last release still loads");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "but what it gets is not pinned to the old URL");
    let res = app.anonymous().get(&format!("/v/{v}/js/no-such-module.js")).await;
    assert!(res.headers().get(header::CACHE_CONTROL).is_none());
    problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_service_worker_and_the_manifest_make_the_map_installable() {
    let app = spawn_app().await;
    let v = version_in(&app.anonymous().get("/").await.text().await.unwrap());
    let res = app.anonymous().get("/sw.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "a new release is seen at the next visit");
    let worker = res.text().await.unwrap();
    assert!(worker.starts_with(&format!("const SHELL_VERSION = \"{v}\";")));
    assert!(worker.contains(&format!("from '/v/{v}/js/outbox-store.js'")));
    let files: Vec<String> = serde_json::from_str(
        worker.lines().find_map(|l| l.strip_prefix("const SHELL_FILES = ")).unwrap().trim_end_matches(';'),
    )
    .unwrap();
    let editor = combined_file_of("js/editor.js");
    for file in ["dist/app.js", &editor, "css/app.css", "node_modules/leaflet/dist/leaflet.js", "icons/icon-192.png"] {
        assert!(files.contains(&format!("/v/{v}/{file}")), "{file} is kept on the phone");
    }
    assert!(
        !files.iter().any(|f| f.contains("/js/") || f.ends_with(".map") || f.ends_with("meta.json")),
        "neither the modules the page does not load nor source maps: {files:?}"
    );
    for file in &files {
        assert_eq!(app.anonymous().get(file).await.status(), StatusCode::OK, "{file} exists");
    }

    let res = app.anonymous().get(&format!("/v/{v}/manifest.webmanifest")).await;
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/manifest+json"));
    let manifest: Value = res.json().await.unwrap();
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(manifest["display"], "standalone");
    let sizes: Vec<&str> = manifest["icons"].as_array().unwrap().iter().filter_map(|i| i["sizes"].as_str()).collect();
    assert!(sizes.contains(&"192x192") && sizes.contains(&"512x512"), "the icons an install needs: {sizes:?}");
}
