//! Report photos as a phone sends them: decoded before they are kept (a JPEG signature over
//! garbage, or a small file claiming huge dimensions, is refused and nothing is stored), the
//! original with its EXIF to the bureau, and to the public a copy re-encoded without metadata.

use std::process::Command;

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A 1600×1200 JPEG as a camera app writes it, made by an image library (Pillow): EXIF with the
/// phone's model, the GPS position of the site and orientation 6 (the phone was held upright).
fn camera_photo() -> Vec<u8> {
    let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let script = r#"
import io, sys
from PIL import Image
img = Image.new("RGB", (1600, 1200))
px = img.load()
for x in range(0, 1600, 8):
    for y in range(0, 1200, 8):
        px[x, y] = (x % 256, y % 256, (x + y) % 256)
exif = Image.Exif()
exif[0x0112] = 6
exif[0x010F] = "Xiaomi"
exif[0x0110] = "Redmi Note 12"
exif[0x8825] = {1: "N", 2: (30.0, 51.0, 7.2), 3: "E", 4: (119.0, 57.0, 1.5)}
out = io.BytesIO()
img.save(out, "JPEG", exif=exif.tobytes(), quality=90)
sys.stdout.buffer.write(out.getvalue())
"#;
    let out = Command::new(python).args(["-c", script]).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "Pillow (python3-pil, installed by scripts/deps.sh test): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn public_task(app: &TestApp) -> String {
    app.create(&task_at(point(119.95, 30.85), json!({"visibility": "public", "status": "in_progress", "progress": 50})))
        .await
        .0
}

#[tokio::test]
async fn the_bureau_gets_the_original_and_the_public_a_copy_without_metadata() {
    let app = spawn_app().await;
    originals_to_staff_and_copies_to_the_public(&app).await;
    assert_eq!(app.stored_files(), 2, "the original and its public copy, in the data folder");
}

/// With GREENLEDGER_PHOTO_STORE=database (several instances), the same, with the photos in the
/// database and nothing in any instance's folder.
#[tokio::test]
async fn kept_in_the_database_the_photos_answer_the_same_and_no_folder_holds_them() {
    let app = spawn_app_serving(|s| s.photo_store = greenledger::store::photos::PhotoStoreKind::Database).await;
    originals_to_staff_and_copies_to_the_public(&app).await;
    assert_eq!(app.stored_files(), 0, "nothing in the data folder");
    let (originals, copies): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(public_copy) FROM photo_files").fetch_one(&app.db).await.unwrap();
    assert_eq!((originals, copies), (1, 1));

    // A report refused after its photos were read leaves none behind: they go with its transaction.
    let id = public_task(&app).await;
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let res = officer.report(&id, "\"v999\"", &new_key(), &[("progress", "60")], &[("x.jpg", jpeg(7, 5_000))]).await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM photo_files").fetch_one(&app.db).await.unwrap();
    assert_eq!(n, 1, "the refused report's photo was not kept");
}

async fn originals_to_staff_and_copies_to_the_public(app: &TestApp) {
    let id = public_task(app).await;
    let original = camera_photo();
    assert!(contains(&original, b"Redmi Note 12") && contains(&original, b"Exif\0\0"));
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let etag = officer.etag(&id).await;
    let res = officer
        .report(
            &id,
            &etag,
            &new_key(),
            &[("action", "complete"), ("note", "完工")],
            &[("IMG_0001.jpg", original.clone())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let url = res.json::<Value>().await.unwrap()["photos"][0]["url"].as_str().unwrap().to_owned();

    // Before verification the public does not see it at all.
    assert_eq!(app.anonymous().get(&url).await.status(), StatusCode::NOT_FOUND);
    let kept = app.get(&url).await.bytes().await.unwrap();
    assert_eq!(&kept[..], &original[..], "the bureau gets the photo as taken, EXIF and all");

    assert_eq!(app.transition(&id, "verify", None).await.status(), StatusCode::OK);
    for caller in [app.anonymous(), app.login(&format!("township-{WEST}")).await] {
        let res = caller.get(&url).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let public = res.bytes().await.unwrap();
        assert!(!contains(&public, b"Exif\0\0"), "no EXIF segment");
        assert!(!contains(&public, b"Redmi") && !contains(&public, b"Xiaomi"), "no camera");
        let img = image::load_from_memory(&public).unwrap();
        assert_eq!((img.width(), img.height()), (1200, 1600), "turned upright as the phone was held");
    }
    // The township's own officer still gets the original.
    assert_eq!(&officer.get(&url).await.bytes().await.unwrap()[..], &original[..]);
}

#[tokio::test]
async fn a_photo_that_does_not_decode_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let id = public_task(&app).await;
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0];
    fake.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let mut huge = jpeg(3, 0);
    let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    huge[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    for (name, bytes, says) in [("garbage.jpg", fake, "cannot be read"), ("bomb.jpg", huge, "pixels a side")] {
        let etag = officer.etag(&id).await;
        let good = jpeg(4, 500);
        let res =
            officer.report(&id, &etag, &new_key(), &[("progress", "60")], &[("ok.jpg", good), (name, bytes)]).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(pointers(&p), ["photo"]);
        let detail = p["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.contains(name) && detail.contains(says), "{detail}");
    }
    let reports = app.get(&format!("/api/tasks/{id}/reports")).await.json::<Vec<Value>>().await.unwrap();
    assert!(reports.is_empty(), "no report stored: {reports:?}");
    assert_eq!(app.stored_files(), 0, "no photo file kept, not even the good one");
}

/// A JPEG as a phone's camera app writes it, made by Pillow: a picture drawn from `seed`, and EXIF
/// with the position (`lon`, `lat` in degrees, in `datum` when given), the time taken (county
/// time, "YYYY:MM:DD HH:MM:SS"), the camera and the program that wrote it.
fn exif_photo(seed: u8, at: Option<(f64, f64)>, taken: Option<&str>, software: &str, datum: Option<&str>) -> Vec<u8> {
    let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let script = r#"
import io, sys, json
from PIL import Image
seed, at, taken, software, datum = json.loads(sys.argv[1])
from PIL import ImageDraw
import random
random.seed(seed)
# A scene rather than a pattern: a sky-to-ground gradient and a few shapes where the seed puts them.
img = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
draw = ImageDraw.Draw(img)
for _ in range(6):
    x, y = random.randrange(0, 560), random.randrange(0, 400)
    draw.rectangle([x, y, x + random.randrange(30, 200), y + random.randrange(30, 160)],
                   fill=tuple(random.randrange(0, 256) for _ in range(3)))
exif = Image.Exif()
exif[0x010F] = "HUAWEI"
exif[0x0110] = "Mate 60"
exif[0x0131] = software
if taken:
    exif[0x8769] = {0x9003: taken}
def dms(v):
    d = int(v); m = int((v - d) * 60); s = round(((v - d) * 60 - m) * 60, 4)
    return (d, m, s)
if at:
    gps = {1: "N", 2: dms(at[1]), 3: "E", 4: dms(at[0])}
    if datum:
        gps[18] = datum
    exif[0x8825] = gps
out = io.BytesIO()
img.save(out, "JPEG", exif=exif.tobytes(), quality=85)
sys.stdout.buffer.write(out.getvalue())
"#;
    let args = json!([seed, at.map(|(x, y)| [x, y]), taken, software, datum]).to_string();
    let out = Command::new(python).args(["-c", script, &args]).output().expect("python3 runs");
    assert!(out.status.success(), "Pillow: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The flags of a report's photos, by position, as the bureau reads them.
async fn evidence_of(app: &TestApp, id: &str, note: &str) -> Vec<Value> {
    let reports: Value = app.get(&format!("/api/tasks/{id}/reports")).await.json().await.unwrap();
    let report = reports.as_array().unwrap().iter().find(|r| r["note"] == note).expect("the report").clone();
    report["photos"].as_array().unwrap().iter().map(|p| p["evidence"].clone()).collect()
}

fn flag_names(evidence: &Value) -> Vec<String> {
    evidence["flags"].as_array().unwrap().iter().map(|f| f["flag"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn each_photo_says_where_and_when_it_was_taken_and_the_verifier_sees_every_doubt() {
    let app = spawn_app().await;
    // A task at 119.95, 30.85; the photos are made after it exists, as in the field.
    let id = public_task(&app).await;
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y:%m:%d %H:%M:%S").to_string();
    let near = exif_photo(1, Some((119.9505, 30.8505)), Some(&now), "HarmonyOS 4.0", None);
    let far = exif_photo(2, Some((119.95, 30.877)), Some(&now), "HarmonyOS 4.0", None);
    let old = exif_photo(3, Some((119.9502, 30.8501)), Some("2020:01:01 10:00:00"), "HarmonyOS 4.0", None);
    let edited = exif_photo(4, Some((119.9501, 30.8501)), Some(&now), "Adobe Photoshop 25.0 (Windows)", None);
    // AMap's datum: the same place as `near`, shifted as GCJ-02 shifts it (about 500 m here).
    let gcj = greenledger::domain::chinacoords::wgs84_to_gcj02([119.9505, 30.8505]);
    let shifted = exif_photo(5, Some((gcj[0], gcj[1])), Some(&now), "HarmonyOS 4.0", Some("GCJ-02"));
    let bare = jpeg(6, 5_000);
    let photos = [
        ("near.jpg", near.clone()),
        ("far.jpg", far),
        ("old.jpg", old),
        ("edited.jpg", edited),
        ("gcj.jpg", shifted),
        ("bare.jpg", bare),
    ];
    let res = officer
        .report(&id, &officer.etag(&id).await, &new_key(), &[("progress", "60"), ("note", "六张照片")], &photos)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());

    let e = evidence_of(&app, &id, "六张照片").await;
    assert_eq!(flag_names(&e[0]), Vec::<String>::new(), "near, now, a camera: nothing to doubt: {}", e[0]);
    assert_eq!(e[0]["camera"], "HUAWEI Mate 60");
    assert_eq!(e[0]["software"], "HarmonyOS 4.0");
    let d = e[0]["distance_m"].as_f64().unwrap();
    assert!((60.0..90.0).contains(&d), "about 73 m from the task: {d}");
    let [lon, lat] = [e[0]["position"][0].as_f64().unwrap(), e[0]["position"][1].as_f64().unwrap()];
    assert!((lon - 119.9505).abs() < 1e-5 && (lat - 30.8505).abs() < 1e-5, "{lon}, {lat}");

    assert_eq!(flag_names(&e[1]), ["far"]);
    let far = &e[1]["flags"][0];
    assert!((2950.0..3050.0).contains(&far["distance_m"].as_f64().unwrap()), "{far}");
    assert_eq!(far["limit_m"], 500.0);

    assert_eq!(flag_names(&e[2]), ["before_task"]);
    assert_eq!(e[2]["flags"][0]["taken_at"], "2020-01-01T02:00:00Z", "county time, Asia/Shanghai");
    assert_eq!(flag_names(&e[3]), ["edited"]);
    assert_eq!(flag_names(&e[4]), ["gcj02"], "converted back to WGS 84, the photo is near the task: {}", e[4]);
    assert!(e[4]["distance_m"].as_f64().unwrap() < 100.0);
    assert_eq!(flag_names(&e[5]), ["no_position", "no_time"]);
    assert!(e[5]["camera"].is_null());

    // The bureau's review queue lists the report with every doubt its photos raise.
    let queue: Value = app.get("/api/review").await.json().await.unwrap();
    let item =
        queue["new_reports"].as_array().unwrap().iter().find(|i| i["task"]["id"] == id.as_str()).unwrap().clone();
    let mut listed: Vec<&str> =
        item["evidence"].as_array().unwrap().iter().map(|f| f["flag"].as_str().unwrap()).collect();
    listed.sort();
    assert_eq!(listed, ["before_task", "edited", "far", "gcj02", "no_position", "no_time"], "{item}");

    // The same picture in a later report is flagged as used before.
    let res = officer
        .report(
            &id,
            &officer.etag(&id).await,
            &new_key(),
            &[("progress", "70"), ("note", "再用一次")],
            &[("again.jpg", near.clone())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let again = &evidence_of(&app, &id, "再用一次").await[0];
    assert_eq!(flag_names(again), ["reused"]);
    assert_eq!(again["flags"][0]["by"], "content");

    // So is a copy of it saved again smaller and at another quality (its EXIF lost on the way).
    let img = image::load_from_memory(&near).unwrap().resize(480, 360, image::imageops::FilterType::Triangle);
    let mut resaved = Vec::new();
    img.to_rgb8().write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut resaved, 50)).unwrap();
    assert_ne!(resaved, near);
    let res = officer
        .report(
            &id,
            &officer.etag(&id).await,
            &new_key(),
            &[("progress", "75"), ("note", "另存一份")],
            &[("copy.jpg", resaved)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let copy = &evidence_of(&app, &id, "另存一份").await[0];
    assert_eq!(flag_names(copy), ["no_position", "no_time", "reused"]);
    assert_eq!(copy["flags"][2]["by"], "likeness");
    // Another picture is not taken for it.
    assert!(!flag_names(&e[1]).contains(&"reused".to_owned()));

    // None of it reaches the public: reports are staff's.
    let public = app.anonymous().get(&format!("/api/tasks/{id}/reports")).await;
    assert_ne!(public.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_report_says_where_the_phone_was_and_its_clock_and_a_resend_from_later_is_the_same_report() {
    let app = spawn_app().await;
    let id = public_task(&app).await; // at 119.95, 30.85
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let behind = (chrono::Utc::now() - chrono::Duration::minutes(90)).to_rfc3339();
    let key = new_key();
    let etag = officer.etag(&id).await;
    let fields = [
        ("progress", "55"),
        ("note", "在镇上写的"),
        ("longitude", "119.95"),
        ("latitude", "30.877"),
        ("accuracy", "30"),
        ("device_time", behind.as_str()),
    ];
    let res = officer.report(&id, &etag, &key, &fields, &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report: Value = res.json().await.unwrap();
    let d = report["sent_from"]["distance_m"].as_f64().unwrap();
    assert!((2950.0..3050.0).contains(&d), "{report}");
    assert_eq!(report["sent_from"]["accuracy_m"], 30.0);
    let flags: Vec<&str> = report["flags"].as_array().unwrap().iter().map(|f| f["flag"].as_str().unwrap()).collect();
    assert_eq!(flags, ["far", "clock"], "{report}");
    let clock = &report["flags"][1];
    assert!((-91..=-89).contains(&clock["minutes_off"].as_i64().unwrap()), "{clock}");

    // The outbox sends the same report again later, with the phone's clock of that moment: it is
    // the same report, stored once.
    let later = chrono::Utc::now().to_rfc3339();
    let again: Vec<(&str, &str)> =
        fields.iter().filter(|(k, _)| *k != "device_time").copied().chain([("device_time", later.as_str())]).collect();
    let res = officer.report(&id, &etag, &key, &again, &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let reports: Value = app.get(&format!("/api/tasks/{id}/reports")).await.json().await.unwrap();
    assert_eq!(reports.as_array().unwrap().iter().filter(|r| r["note"] == "在镇上写的").count(), 1);

    // Half a position, or one off the globe, is refused with its field named; nothing is stored.
    let etag = officer.etag(&id).await;
    for (sent, pointer, code) in [
        (vec![("note", "x"), ("latitude", "30.8")], "longitude", "required"),
        (vec![("note", "x"), ("latitude", "95"), ("longitude", "119.9")], "latitude", "range"),
        (vec![("note", "x"), ("device_time", "yesterday")], "device_time", "format"),
    ] {
        let body =
            problem(officer.report(&id, &etag, &new_key(), &sent, &[]).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["pointer"], format!("/{pointer}"), "{body}");
        assert_eq!(body["errors"][0]["code"], code, "{body}");
    }
    let reports: Value = app.get(&format!("/api/tasks/{id}/reports")).await.json().await.unwrap();
    assert_eq!(reports.as_array().unwrap().len(), 1);
}

/// A multipart report whose photos come in the parts of what they show (`photo_before`, …).
async fn staged_report(
    caller: &Caller,
    id: &str,
    fields: &[(&str, &str)],
    photos: &[(&str, Vec<u8>)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (i, (part, bytes)) in photos.iter().enumerate() {
        let file = reqwest::multipart::Part::bytes(bytes.clone()).file_name(format!("IMG_{i}.jpg"));
        form = form.part(part.to_string(), file);
    }
    caller
        .request(reqwest::Method::POST, &format!("/api/tasks/{id}/reports"))
        .header("if-match", caller.etag(id).await)
        .header("idempotency-key", new_key())
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_completion_shows_the_finished_work_and_the_public_sees_before_and_after_once_verified() {
    let app = spawn_app().await;
    let id = app
        .create(&task_at(
            point(119.95, 30.85),
            json!({"status": "planned", "category": "village", "title": "村口垃圾点整治"}),
        ))
        .await
        .0;
    let officer = app.login(&format!("township-{MIDDLE}")).await;

    // The village family asks for the site before the work when it starts.
    let admin = app.login("admin").await;
    let res = admin.patch("/api/categories/village", "", &json!({"require_before_photo": true})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["require_before_photo"], true);
    let res = staged_report(&officer, &id, &[("action", "start")], &[("photo_during", jpeg(1, 800))]).await;
    assert_eq!(problem(res, StatusCode::CONFLICT).await["code"], "start_needs_before_photo");
    let res = staged_report(&officer, &id, &[("action", "start")], &[("photo_before", jpeg(2, 800))]).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Completion needs a photo of the finished work: a note or a photo of the work under way will not do.
    let before = app.get(&format!("/api/tasks/{id}/reports")).await.json::<Vec<Value>>().await.unwrap().len();
    for (fields, photos) in [
        (vec![("action", "complete"), ("note", "夜间施工无法拍照")], vec![]),
        (vec![("action", "complete")], vec![("photo_during", jpeg(3, 800))]),
    ] {
        let res = staged_report(&officer, &id, &fields, &photos).await;
        assert_eq!(problem(res, StatusCode::CONFLICT).await["code"], "completion_needs_after_photo");
    }
    let res = staged_report(&officer, &id, &[("action", "complete")], &[("photo_later", jpeg(3, 800))]).await;
    assert_eq!(pointers(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), ["/photo_later"]);
    let stored = app.get(&format!("/api/tasks/{id}/reports")).await.json::<Vec<Value>>().await.unwrap();
    assert_eq!(stored.len(), before, "nothing stored by the refusals");
    // An unmarked photo of a completion shows the finished work, as a phone that queued it meant.
    let res = staged_report(
        &officer,
        &id,
        &[("action", "complete")],
        &[("photo_during", jpeg(4, 800)), ("photo", jpeg(5, 800))],
    )
    .await;
    let report: Value = res.json().await.unwrap();
    let stages: Vec<&str> = report["photos"].as_array().unwrap().iter().map(|p| p["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["during", "after"], "{report}");

    // The public sees no photo until the bureau verifies; then the before and after, not the rest.
    let photos = |caller: Caller| {
        let path = format!("/api/tasks/{id}/photos");
        async move { caller.get(&path).await.json::<Vec<Value>>().await.unwrap() }
    };
    assert!(photos(app.anonymous()).await.is_empty());
    assert_eq!(photos(officer.clone()).await.len(), 3, "its township sees every stage");
    assert_eq!(app.transition(&id, "verify", None).await.status(), StatusCode::OK);
    let public = photos(app.anonymous()).await;
    let stages: Vec<&str> = public.iter().map(|p| p["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["before", "after"]);

    // Thumbnails first, for anyone who may see the photo, without metadata; the size is checked.
    let thumb = app.anonymous().get(public[1]["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let img = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert!(img.width().max(img.height()) <= 320);
    let res = app.anonymous().get(&format!("{}?size=poster", public[1]["url"].as_str().unwrap())).await;
    assert_eq!(pointers(&problem(res, StatusCode::BAD_REQUEST).await), ["size"]);
    let internal = app.create(&task_at(point(119.95, 30.85), json!({"visibility": "internal"}))).await.0;
    assert_eq!(app.anonymous().get(&format!("/api/tasks/{internal}/photos")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_camera_photo_shrinks_to_a_thumbnail_without_its_position_and_the_far_limit_is_the_familys() {
    let app = spawn_app().await;
    let id = public_task(&app).await;
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y:%m:%d %H:%M:%S").to_string();
    // About 3 km from the task: far for the default 500 m, not for a family that allows 5 km.
    let admin = app.login("admin").await;
    let res = admin.patch("/api/categories/watershed", "", &json!({"photo_far_m": 5000})).await;
    assert_eq!(res.json::<Value>().await.unwrap()["photo_far_m"], 5000);
    let far = exif_photo(21, Some((119.95, 30.877)), Some(&now), "HarmonyOS 4.0", None);
    let res = staged_report(&officer, &id, &[("note", "河口下游三公里")], &[("photo_during", far.clone())]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let e = evidence_of(&app, &id, "河口下游三公里").await;
    assert_eq!(flag_names(&e[0]), Vec::<String>::new(), "within the family's 5 km: {}", e[0]);
    let bad = admin.patch("/api/categories/watershed", "", &json!({"photo_far_m": 1})).await;
    assert_eq!(pointers(&problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await), ["/photo_far_m"]);

    let report = app.get(&format!("/api/tasks/{id}/reports")).await.json::<Vec<Value>>().await.unwrap();
    let thumb_url = report[0]["photos"][0]["thumbnail_url"].as_str().unwrap().to_owned();
    let thumb = app.get(&thumb_url).await.bytes().await.unwrap();
    assert!(!contains(&thumb, b"Exif\0\0") && !contains(&thumb, b"HUAWEI"), "no EXIF, no camera");
    assert!(thumb.len() < far.len(), "{} bytes, the original {}", thumb.len(), far.len());
    // Not the public's before the task is verified, thumbnail or not.
    assert_eq!(app.anonymous().get(&thumb_url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.stored_files(), 3, "the original, its public copy and the thumbnail, each once");
    app.get(&thumb_url).await;
    assert_eq!(app.stored_files(), 3, "the thumbnail is made once and kept");
}

#[tokio::test]
async fn a_finished_work_photo_taken_far_away_is_verified_only_with_a_reason_the_history_keeps() {
    let app = spawn_app().await;
    let id = public_task(&app).await;
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y:%m:%d %H:%M:%S").to_string();
    let far = exif_photo(31, Some((119.95, 30.877)), Some(&now), "HarmonyOS 4.0", None);
    let res = staged_report(&officer, &id, &[("action", "complete")], &[("photo_after", far)]).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let p = problem(app.transition(&id, "verify", None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        (p["errors"][0]["pointer"].as_str(), p["errors"][0]["code"].as_str()),
        (Some("/reason"), Some("verify_doubted"))
    );
    assert_eq!(p["errors"][0]["params"]["photos"], 1);
    let task: Value = app.get(&format!("/api/tasks/{id}")).await.json().await.unwrap();
    assert_eq!(task["properties"]["status"], "completed", "not verified by the refusal");

    let reason = "河段下游同一工程，已现场复核";
    assert_eq!(app.transition(&id, "verify", Some(reason)).await.status(), StatusCode::OK);
    let history: Value = app.get(&format!("/api/tasks/{id}/history")).await.json().await.unwrap();
    let verified = history.as_array().unwrap().iter().find(|e| e["action"] == "verify").unwrap();
    assert_eq!(verified["reason"], reason);
}
