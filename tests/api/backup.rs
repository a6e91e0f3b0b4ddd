//! `greenledger backup` while the service writes, and `greenledger restore` into an empty database
//! and a fresh data folder: the restored service answers as the original did at the backup's
//! snapshot, every photo intact; damaged archives and non-empty databases are refused unchanged.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor, PgConnection};

fn server() -> String {
    std::env::var("GREENLEDGER_TEST_DB").expect("set GREENLEDGER_TEST_DB").trim_end_matches('/').to_owned()
}

async fn database_url(app: &TestApp) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&app.db).await.unwrap();
    format!("{}/{name}", server())
}

/// Runs the real binary with the database and data folder of a service.
fn greenledger(args: &[&str], database_url: &str, data_dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("GREENLEDGER_DATA_DIR", data_dir)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("greenledger-backup-{}-{name}-{}", std::process::id(), new_key()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A new, empty database on the test server (no PostGIS either: the dump brings it).
async fn empty_database() -> (String, String) {
    let name = format!("gl_restore_{}", new_key().replace('-', "")[..12].to_owned());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server())).await.unwrap();
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    admin.close().await.unwrap();
    (format!("{}/{name}", server()), name)
}

/// An empty database as "Going live" makes one: owned by an ordinary role (not a superuser), with
/// PostGIS created in it by the superuser. Its URL connects as that role.
async fn empty_database_of_its_own_role() -> (String, String) {
    let name = format!("gl_restore_{}", new_key().replace('-', "")[..12].to_owned());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server())).await.unwrap();
    admin.execute(format!("CREATE ROLE {name} LOGIN").as_str()).await.unwrap();
    admin.execute(format!("CREATE DATABASE {name} OWNER {name}").as_str()).await.unwrap();
    admin.close().await.unwrap();
    let mut admin = PgConnection::connect(&format!("{}/{name}", server())).await.unwrap();
    admin.execute("CREATE EXTENSION postgis").await.unwrap();
    admin.close().await.unwrap();
    let server = server();
    let (scheme, host) = server.split_once("://").unwrap();
    let host = host.split_once('@').map_or(host, |(_, h)| h);
    (format!("{scheme}://{name}@{host}/{name}"), name)
}

/// The families the baseline uses; the writer files under `village` in the east, so answers
/// filtered to these families must be the same before and after the round trip.
const BASELINE: &str = "watershed,energy,chemical";

/// Tasks with reports, photos and every kind of history, in the west and middle townships.
async fn baseline(app: &TestApp) {
    let township = app.login(&format!("township-{WEST}")).await;
    let families = ["watershed", "energy", "chemical"];
    for i in 0..9 {
        let lon = if i % 2 == 0 { 119.85 } else { 119.95 };
        let feature = task_at(point(lon, 30.75 + 0.02 * i as f64), json!({"category": families[i % 3]}));
        let (id, etag, _) = app.create(&feature).await;
        if i < 6 {
            let caller = if lon < 119.9 { &township } else { &app.bureau };
            let res = caller.report(&id, &etag, &new_key(), &[("action", "start"), ("progress", "20")], &[]).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let photos = [("a.jpg", jpeg(i as u8, 3000 + i)), ("b.jpg", jpeg(100 + i as u8, 5000))];
            let etag = caller.etag(&id).await;
            let res = caller.report(&id, &etag, &new_key(), &[("action", "complete"), ("note", "完工")], &photos).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let action = ["verify", "return", "supervise"][i % 3];
            let reason = (action == "return").then_some("照片不清楚");
            assert_eq!(app.transition(&id, action, reason).await.status(), StatusCode::OK);
        }
    }
}

/// What the writer saw of each task it wrote: after creating it, and after reporting on it.
struct Written {
    id: String,
    created: Value,
    reported: Value,
}

/// Creates a task in the east and reports on it with a fresh photo, again and again, until told
/// to stop.
async fn writer(caller: Caller, stop: Arc<AtomicBool>, done: Arc<AtomicUsize>) -> Vec<Written> {
    let mut written = Vec::new();
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let feature = task_at(point(120.05, 30.71 + 0.0005 * i as f64), json!({"category": "village"}));
        let (id, etag, _) = caller.create(&feature).await;
        let created: Value = caller.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
        let bytes = jpeg((i % 251) as u8, 4000 + i);
        let res = caller
            .report(&id, &etag, &new_key(), &[("action", "start"), ("progress", "30")], &[("w.jpg", bytes.clone())])
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let reported: Value = caller.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
        written.push(Written { id, created, reported });
        done.fetch_add(1, Ordering::SeqCst);
        i += 1;
    }
    written
}

async fn wait_for_writes(done: &AtomicUsize, n: usize, writing: &tokio::task::JoinHandle<Vec<Written>>) {
    while done.load(Ordering::SeqCst) < n {
        assert!(!writing.is_finished(), "the writer stopped (its panic is printed above)");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn body(caller: &Caller, path: &str) -> Value {
    let res = caller.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Every answer about the baseline must be the same from both services.
async fn compare_baseline(before: &Caller, after: &Caller, anonymous: (&Caller, &Caller)) {
    for path in [
        format!("/api/tasks?category={BASELINE}&limit=10000"),
        format!("/api/rollups/townships?category={BASELINE}"),
        format!("/api/rollups/monthly?category={BASELINE}"),
        format!("/api/rollups/townships.geojson?category={BASELINE}"),
    ] {
        assert_eq!(body(before, &path).await, body(after, &path).await, "{path}");
        assert_eq!(body(anonymous.0, &path).await, body(anonymous.1, &path).await, "{path} (anonymous)");
    }
    let list = body(before, &format!("/api/tasks?category={BASELINE}&limit=10000")).await;
    let features = list["features"].as_array().unwrap();
    assert_eq!(features.len(), 9);
    for f in features {
        let id = f["id"].as_str().unwrap();
        for path in [format!("/api/tasks/{id}"), format!("/api/tasks/{id}/history"), format!("/api/tasks/{id}/reports")]
        {
            assert_eq!(body(before, &path).await, body(after, &path).await, "{path}");
        }
        let (a, b) = (before.get(&format!("/api/tasks/{id}")).await, after.get(&format!("/api/tasks/{id}")).await);
        assert_eq!(a.headers()["etag"], b.headers()["etag"]);
    }
}

/// The writer's tasks in the restored service are a prefix of what it wrote, each as it was after
/// its report, except perhaps the last, caught between its creation and its report.
async fn compare_written(after: &Caller, written: &[Written]) -> (usize, usize) {
    let list = body(after, "/api/tasks?category=village&limit=10000").await;
    let ids: std::collections::HashSet<&str> =
        list["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    let present = written.iter().take_while(|w| ids.contains(w.id.as_str())).count();
    assert_eq!(present, ids.len(), "the restored writes are the first {present} written, with no gap");
    let mut reported = 0;
    for (n, w) in written[..present].iter().enumerate() {
        let restored = body(after, &format!("/api/tasks/{}", w.id)).await;
        if restored == w.reported {
            reported += 1;
        } else {
            assert_eq!(n + 1, present, "only the last write can be caught before its report");
            assert_eq!(restored, w.created);
        }
    }
    (present, reported)
}

/// Every photo the restored database names is in the restored data folder and served with the
/// content its name promises.
async fn check_photos(after: &TestApp, bureau: &Caller) -> usize {
    let photos: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT sha256 FROM report_photos").fetch_all(&after.db).await.unwrap();
    for sha in &photos {
        let res = bureau.get(&format!("/api/photos/{sha}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(&sha256(&res.bytes().await.unwrap()), sha);
        let file = after.data_dir.join("photos").join(&sha[..2]).join(sha);
        assert_eq!(&sha256(&std::fs::read(&file).unwrap()), sha, "{}", file.display());
    }
    photos.len()
}

#[tokio::test]
async fn a_backup_taken_while_tasks_are_written_restores_to_the_answers_of_its_moment() {
    let app = spawn_app().await;
    baseline(&app).await;
    let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let writing = tokio::spawn(writer(app.bureau.clone(), stop.clone(), done.clone()));
    wait_for_writes(&done, 3, &writing).await;
    let dir = scratch("roundtrip");
    let archive = dir.join("greenledger.tar");
    let url = database_url(&app).await;
    let before_backup = done.load(Ordering::SeqCst);
    let out = tokio::task::spawn_blocking({
        let (archive, url, data) = (archive.clone(), url.clone(), app.data_dir.clone());
        move || greenledger(&["backup", "--out", archive.to_str().unwrap()], &url, &data)
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let during_backup = done.load(Ordering::SeqCst) - before_backup;
    wait_for_writes(&done, before_backup + during_backup + 2, &writing).await;
    stop.store(true, Ordering::SeqCst);
    let written = writing.await.unwrap();
    assert!(!archive.with_extension("tar.partial").exists(), "no partial archive is left behind");

    let (restored_url, restored_name) = empty_database_of_its_own_role().await;
    let restored = spawn_with(greenledger::store::DbConfig::new(restored_url.as_str()), restored_name).await;
    let out = greenledger(&["restore", "--from", archive.to_str().unwrap()], &restored_url, &restored.data_dir);
    assert!(out.status.success(), "{}", stderr(&out));
    // What `serve` does at start: nothing is left to migrate.
    greenledger::store::migrate(&restored.db).await.unwrap();

    let after = restored.login("bureau").await;
    compare_baseline(&app.bureau, &after, (&app.anonymous(), &restored.anonymous())).await;
    let (present, reported) = compare_written(&after, &written).await;
    let photos = check_photos(&restored, &after).await;
    assert_eq!(photos, 12 + reported, "the baseline's 12 photos and one per restored report");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{} tasks", 9 + present)), "{stdout}");
    eprintln!("{during_backup} write(s) ran during the backup; {present} of {} are in it", written.len());
    let _ = std::fs::remove_dir_all(&dir);
}

/// With the photos in the database (GREENLEDGER_PHOTO_STORE=database, several instances), the dump
/// carries them: the archive holds no photo files, and the restored service serves every photo.
#[tokio::test]
async fn photos_kept_in_the_database_travel_in_the_dump() {
    use greenledger::store::photos::PhotoStoreKind;
    let app = spawn_app_serving(|s| s.photo_store = PhotoStoreKind::Database).await;
    baseline(&app).await;
    assert_eq!(app.stored_files(), 0, "the photos are in the database");
    let dir = scratch("database-photos");
    let archive = dir.join("greenledger.tar");
    let out = greenledger(&["backup", "--out", archive.to_str().unwrap()], &database_url(&app).await, &app.data_dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = std::process::Command::new("tar").arg("-tf").arg(&archive).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(!listing.contains("photos/"), "no photo file beside the dump: {listing}");

    let (restored_url, restored_name) = empty_database_of_its_own_role().await;
    let restored = spawn_with_serving(greenledger::store::DbConfig::new(restored_url.as_str()), restored_name, |s| {
        s.photo_store = PhotoStoreKind::Database
    })
    .await;
    let out = greenledger(&["restore", "--from", archive.to_str().unwrap()], &restored_url, &restored.data_dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = restored.login("bureau").await;
    let photos: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT sha256 FROM report_photos").fetch_all(&restored.db).await.unwrap();
    assert_eq!(photos.len(), 12, "the baseline's photos");
    for sha in &photos {
        let res = after.get(&format!("/api/photos/{sha}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(&sha256(&res.bytes().await.unwrap()), sha);
    }
    assert_eq!(restored.stored_files(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies the tar at `from` to `to` with one byte of the entry `victim` changed (same size).
fn tamper(from: &Path, to: &Path, victim: &str) {
    let mut archive = tar::Archive::new(std::fs::File::open(from).unwrap());
    let mut builder = tar::Builder::new(std::fs::File::create(to).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if path == victim {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
        }
        builder.append_data(&mut header, &path, bytes.as_slice()).unwrap();
    }
    builder.finish().unwrap();
}

async fn relations(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn damaged_archives_and_databases_in_use_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    baseline(&app).await;
    let dir = scratch("refusals");
    let archive = dir.join("nightly.tar");
    let url = database_url(&app).await;
    let out = greenledger(&["backup", "--out", archive.to_str().unwrap()], &url, &app.data_dir);
    assert!(out.status.success(), "{}", stderr(&out));
    // It holds password hashes and phone numbers: its owner's alone, whatever the umask was.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777, 0o600);

    // A restore over the live database: refused, naming it and what it holds.
    let tasks = app.task_count().await;
    let fresh = dir.join("data-over-live");
    let out = greenledger(&["restore", "--from", archive.to_str().unwrap()], &url, &fresh);
    assert!(!out.status.success());
    let message = stderr(&out);
    let live: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&app.db).await.unwrap();
    assert!(
        message.contains(&format!("'{live}' is not empty")) && message.contains("public._sqlx_migrations"),
        "{message}"
    );
    assert_eq!(app.task_count().await, tasks);
    assert!(!fresh.join("photos").exists(), "no photo was restored");

    // One flipped byte in one photo: refused, naming that photo; the empty database stays empty.
    let photo: String = sqlx::query_scalar("SELECT min(sha256) FROM report_photos").fetch_one(&app.db).await.unwrap();
    let victim = format!("photos/{}/{photo}", &photo[..2]);
    let damaged = dir.join("damaged.tar");
    tamper(&archive, &damaged, &victim);
    let (empty_url, empty_name) = empty_database().await;
    let target = spawn_with(greenledger::store::DbConfig::new(empty_url.as_str()), empty_name).await;
    let out = greenledger(&["restore", "--from", damaged.to_str().unwrap()], &empty_url, &target.data_dir);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(message.contains(&victim) && message.contains("checksum mismatch"), "{message}");
    assert_eq!(relations(&empty_url).await, 0, "the empty database was left empty");
    assert!(!target.data_dir.join("photos").exists(), "no photo was restored");

    // A tar that is no backup at all.
    let stranger = dir.join("stranger.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&stranger).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    builder.append_data(&mut header, "notes.txt", &b"hello"[..]).unwrap();
    builder.finish().unwrap();
    let out = greenledger(&["restore", "--from", stranger.to_str().unwrap()], &empty_url, &target.data_dir);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a greenledger backup"), "{}", stderr(&out));

    // The untouched archive still restores into that database.
    let out = greenledger(&["restore", "--from", archive.to_str().unwrap()], &empty_url, &target.data_dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
