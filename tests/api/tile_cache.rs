//! The tiles each instance keeps in memory (GREENLEDGER_TILE_CACHE_MB): answered again without the
//! database (`X-Cache: hit`), dropped exactly where a task changes, through this instance, another
//! one or the database itself, and never shown to a caller who may not see what they hold.

use std::time::{Duration, Instant};

use crate::helpers::*;
use greenledger::store::DbConfig;
use reqwest::StatusCode;
use serde_json::json;

fn path_of(lon: f64, lat: f64, z: u32) -> String {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    format!("/tiles/tasks/{z}/{x}/{y}.mvt")
}

/// The tile's bytes and its X-Cache.
async fn fetch(caller: &Caller, path: &str) -> (Vec<u8>, String) {
    let res = caller.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let how = res.headers().get("x-cache").expect("X-Cache on every tile").to_str().unwrap().to_owned();
    (res.bytes().await.unwrap().to_vec(), how)
}

/// Fetches the tile until it is built and kept, then once more, answered from memory. A build
/// right after a write may overlap the write's notice, and is then rightly not kept (`bypass`).
async fn kept(caller: &Caller, path: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        let (bytes, how) = fetch(caller, path).await;
        if how != "bypass" {
            assert_eq!(how, "miss", "{path}");
            break bytes;
        }
        assert!(Instant::now() < deadline, "{path} still not kept 5 s after the last change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (again, how) = fetch(caller, path).await;
    assert_eq!(how, "hit", "{path}");
    assert_eq!(again, first);
    first
}

/// The tile once it is no longer answered from memory: the notice of a change reaches the
/// instance moments after the change's commit.
async fn dropped(caller: &Caller, path: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (bytes, how) = fetch(caller, path).await;
        if how != "hit" {
            return bytes;
        }
        assert!(Instant::now() < deadline, "{path} still answered from memory 5 s after the change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn holds(tile: &[u8], text: &str) -> bool {
    tile.windows(text.len()).any(|w| w == text.as_bytes())
}

const P1: (f64, f64) = (119.85, 30.8);
const P2: (f64, f64) = (120.05, 30.9);
const P3: (f64, f64) = (119.95, 30.75);

#[tokio::test]
async fn a_kept_tile_follows_edits_moves_and_deletions_and_tiles_away_from_them_stay_kept() {
    let app = spawn_app().await;
    let (id, etag, _) = app.create(&task_at(point(P1.0, P1.1), json!({"title": "河道清淤"}))).await;
    app.create(&task_at(point(P2.0, P2.1), json!({"title": "远处的任务"}))).await;
    let anon = app.anonymous();
    let (t1, t2, t3) = (path_of(P1.0, P1.1, 15), path_of(P2.0, P2.1, 15), path_of(P3.0, P3.1, 15));
    let low = path_of(P1.0, P1.1, 8);
    assert!(holds(&kept(&anon, &t1).await, "河道清淤"));
    assert!(holds(&kept(&anon, &t2).await, "远处的任务"));
    assert!(holds(&kept(&anon, &low).await, "河道清淤"));
    assert!(!holds(&kept(&anon, &t3).await, "河道清淤"));

    let res = app.patch(&format!("/api/tasks/{id}"), &etag, &json!({"properties": {"title": "河道清淤二期"}})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(holds(&dropped(&anon, &t1).await, "河道清淤二期"));
    assert!(holds(&dropped(&anon, &low).await, "河道清淤二期"), "the low zoom tile over it changes too");
    assert_eq!(fetch(&anon, &t2).await.1, "hit", "a tile away from the change stays kept");
    assert_eq!(fetch(&anon, &t3).await.1, "hit");

    // Moved: both the tile it left and the one it went to.
    let etag = app.etag(&id).await;
    let res = app.patch(&format!("/api/tasks/{id}"), &etag, &json!({"geometry": point(P3.0, P3.1)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!holds(&dropped(&anon, &t1).await, "河道清淤"));
    assert!(holds(&dropped(&anon, &t3).await, "河道清淤二期"));
    assert_eq!(fetch(&anon, &t2).await.1, "hit");

    // Written and deleted in the database itself: the notice comes from PostgreSQL, whoever
    // changes the row. (Tasks with a history cannot be deleted; this one has none.)
    assert_eq!(fetch(&anon, &t3).await.1, "hit");
    sqlx::query(
        "INSERT INTO tasks (title, category, geom) VALUES ('待删除', 'watershed', ST_SetSRID(ST_MakePoint($1, $2), 4326))",
    )
    .bind(P3.0 + 0.0001)
    .bind(P3.1)
    .execute(&app.db)
    .await
    .unwrap();
    assert!(holds(&dropped(&anon, &t3).await, "待删除"));
    assert_eq!(fetch(&anon, &t3).await.1, "hit");
    let deleted = sqlx::query("DELETE FROM tasks WHERE title = '待删除'").execute(&app.db).await.unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    let tile = dropped(&anon, &t3).await;
    assert!(!holds(&tile, "待删除") && holds(&tile, "河道清淤二期"));
    assert_eq!(fetch(&anon, &t2).await.1, "hit");
}

#[tokio::test]
async fn a_caller_never_gets_a_kept_tile_with_tasks_it_may_not_see() {
    let app = spawn_app().await;
    app.create(&task_at(point(P1.0, P1.1), json!({"title": "内部任务", "visibility": "internal"}))).await;
    let t1 = path_of(P1.0, P1.1, 15);
    assert!(holds(&kept(&app, &t1).await, "内部任务"), "staff see it");
    let anon = app.anonymous();
    let (tile, how) = fetch(&anon, &t1).await;
    assert_ne!(how, "hit", "the public's tile is its own");
    assert!(!holds(&tile, "内部任务"));
    assert!(!holds(&fetch(&anon, &t1).await.0, "内部任务"));
    let own = app.login(&format!("township-{WEST}")).await;
    assert!(holds(&kept(&own, &t1).await, "内部任务"), "its own township's officer sees it");
    let other = app.login(&format!("township-{EAST}")).await;
    assert!(!holds(&kept(&other, &t1).await, "内部任务"), "another township's officer does not");

    // Made public: every viewer's tile changes.
    let id = sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM tasks WHERE title = '内部任务'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE tasks SET visibility = 'public' WHERE id = $1").bind(id).execute(&app.db).await.unwrap();
    assert!(holds(&dropped(&anon, &t1).await, "内部任务"));
    assert!(holds(&dropped(&other, &t1).await, "内部任务"));
}

#[tokio::test]
async fn a_change_made_through_another_instance_drops_the_tile_here() {
    let app = spawn_app().await;
    let (id, etag, _) = app.create(&task_at(point(P1.0, P1.1), json!({"title": "第一处"}))).await;
    let other = spawn_with(DbConfig::new(app.database_url()), String::new()).await;
    let other_bureau = other.login("bureau").await;
    let anon = app.anonymous();
    let (t1, t2) = (path_of(P1.0, P1.1, 16), path_of(P2.0, P2.1, 16));
    kept(&anon, &t1).await;
    kept(&anon, &t2).await;
    let res = other_bureau.patch(&format!("/api/tasks/{id}"), &etag, &json!({"properties": {"title": "第二处"}})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(holds(&dropped(&anon, &t1).await, "第二处"));
    assert_eq!(fetch(&anon, &t2).await.1, "hit");
    // And a task created there appears here.
    other_bureau.create(&task_at(point(P2.0, P2.1), json!({"title": "新任务"}))).await;
    assert!(holds(&dropped(&anon, &t2).await, "新任务"));
}

#[tokio::test]
async fn with_the_cache_off_every_tile_is_built() {
    let app = spawn_app_serving(|s| s.tile_cache_mb = 0).await;
    app.create(&task_at(point(P1.0, P1.1), json!({}))).await;
    let t1 = path_of(P1.0, P1.1, 15);
    for _ in 0..2 {
        assert_eq!(fetch(&app.anonymous(), &t1).await.1, "off");
    }
}
